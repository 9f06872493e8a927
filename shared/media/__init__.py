"""Pure image/video code (Pillow); imported lazily, only on the processing path."""
