"""Stable seeds: derived from integers and file names with a hash that does not change between runs or
machines (Python's ``hash()`` of a str is salted per process, so it is never used for this)."""

from __future__ import annotations

import hashlib

import torch


def stable_seed(*parts: object) -> int:
    """A 63-bit seed from any printable parts, identical on every run and platform."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


def unit_interval(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts`` (used for deterministic train/val splits by file name)."""
    return stable_seed(*parts) / float(1 << 63)
