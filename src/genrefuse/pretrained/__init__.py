"""Pretrained models ported from elsewhere (musicnn), read without their original frameworks."""
