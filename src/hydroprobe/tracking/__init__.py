"""hydroprobe.tracking"""
