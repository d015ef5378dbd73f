"""How many replicates the ensemble engine stacks: all on a GPU (where stacking pays), bounded on a CPU."""

import torch

from hydroprobe.training.ensemble import MAX_GROUP
from hydroprobe.training.replicates import ensemble_group_size


def test_a_gpu_stacks_every_replicate_a_cpu_bounds_memory():
    assert ensemble_group_size(100, torch.device("cuda")) == 100
    assert ensemble_group_size(100, torch.device("cpu")) == MAX_GROUP == 32
    assert ensemble_group_size(0, torch.device("cuda")) == 1
