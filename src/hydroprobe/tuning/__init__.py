"""hydroprobe.tuning"""
