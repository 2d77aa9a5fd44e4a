"""rayemr.emr: EMR's clusters, steps, configurations and bootstrap actions on Ray.

``Cluster`` is the entry point (see :mod:`rayemr.emr.cluster`); ``rayemr emr ...`` is the CLI.
The pure pieces -- configuration classifications, step specs and states, the step queue --
import no Ray and are usable on their own.
"""
from __future__ import annotations

from rayemr.emr.bootstrap import BootstrapAction
from rayemr.emr.clusterstate import ClusterState
from rayemr.emr.configurations import ClusterConfig, load_configurations, parse_configurations
from rayemr.emr.steps import ActionOnFailure, StepSpec, StepState, StepType

__all__ = [
    "ActionOnFailure", "BootstrapAction", "Cluster", "ClusterConfig", "ClusterState",
    "StepSpec", "StepState", "StepType", "load_configurations", "parse_configurations",
]


def __getattr__(name: str):
    if name == "Cluster":  # imported lazily: the pure pieces need no Ray
        from rayemr.emr.cluster import Cluster

        return Cluster
    raise AttributeError(name)
