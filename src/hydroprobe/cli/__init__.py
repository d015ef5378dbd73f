"""hydroprobe.cli"""
