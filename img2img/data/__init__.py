"""Data: image reading, folder and paired datasets, paired augmentation and the embedded procedural scenes."""

from .aligned import AlignedDataset, PairedFoldersDataset, paired_dataset
from .folders import ImageFolderDataset, split_files
from .io import (
    IMAGE_EXTENSIONS,
    list_images,
    load_image,
    make_grid,
    pil_to_tensor,
    save_image,
    tensor_to_pil,
)
from .procedural import ProceduralScenes, render_scene
from .transforms import PairedTransform

__all__ = [
    "IMAGE_EXTENSIONS",
    "AlignedDataset",
    "ImageFolderDataset",
    "PairedFoldersDataset",
    "PairedTransform",
    "ProceduralScenes",
    "list_images",
    "load_image",
    "make_grid",
    "paired_dataset",
    "pil_to_tensor",
    "render_scene",
    "save_image",
    "split_files",
    "tensor_to_pil",
]
