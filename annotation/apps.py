from django.apps import AppConfig
from django.conf import settings
from django.core.signals import setting_changed
from PIL import Image


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = "Annotation"

    def ready(self):
        # Pillow keeps its own pixel limit (warning above it, refusing above twice it); it
        # follows MAX_IMAGE_PIXELS so a raised setting is not refused by Pillow regardless,
        # and a lowered one also guards the opens that skip the upload check.
        set_pillow_pixel_limit(settings.MAX_IMAGE_PIXELS)
        setting_changed.connect(_follow_pixel_setting, dispatch_uid="annotation-pixel-limit")


def set_pillow_pixel_limit(pixels: int) -> None:
    Image.MAX_IMAGE_PIXELS = pixels


def _follow_pixel_setting(setting, value, **kwargs):
    if setting == "MAX_IMAGE_PIXELS":
        set_pillow_pixel_limit(settings.MAX_IMAGE_PIXELS)
