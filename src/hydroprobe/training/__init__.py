"""hydroprobe.training"""
