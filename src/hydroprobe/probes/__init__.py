"""hydroprobe.probes"""
