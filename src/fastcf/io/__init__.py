"""Frame sources (image files, video, camera) and result writers."""
