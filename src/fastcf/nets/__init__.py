"""CNNs for features: the teachers (ImageNet VGG16, VGG16-HED, MobileNetV2), VGG-M /
slim-VGG16 students, weight importers.

Every network is a :class:`TapNetwork`: ``forward`` takes a float tensor
``(N, 3, H, W)`` of BGR 0..255 pixels (normalisation happens inside) and returns
``{tap name: (N, C, h, w) map}``; ``taps`` declares stride / channels / receptive field of
every tap; ``truncated(taps)`` computes only up to the deepest requested one.
"""

from fastcf.nets.base import TapInfo, TapNetwork, load_checked
from fastcf.nets.matconvnet import load_matconvnet
from fastcf.nets.mobilenet import build_mobilenet_v2
from fastcf.nets.shipped import load_shipped_student, shipped_student_paths
from fastcf.nets.stats import count_macs, count_params
from fastcf.nets.students import (
    build_student,
    build_vggm,
    load_student,
    save_student,
    student_names,
    vggm_from_matconvnet,
)
from fastcf.nets.teacher import DEFAULT_TEACHER, TEACHERS, cache_dir, fetch_teacher, load_teacher
from fastcf.nets.vgg16 import build_vgg16, vgg16_from_hed, vgg16_from_torchvision

__all__ = [
    "DEFAULT_TEACHER",
    "TEACHERS",
    "build_mobilenet_v2",
    "TapInfo",
    "TapNetwork",
    "build_student",
    "build_vgg16",
    "build_vggm",
    "cache_dir",
    "count_macs",
    "count_params",
    "fetch_teacher",
    "load_checked",
    "load_matconvnet",
    "load_shipped_student",
    "load_student",
    "load_teacher",
    "save_student",
    "shipped_student_paths",
    "student_names",
    "vgg16_from_hed",
    "vgg16_from_torchvision",
    "vggm_from_matconvnet",
]
