"""Configuration: the dataclasses a run is made of (``sections``: TrainConfig and its generator, discriminator,
loss and optimiser sections, each validating itself) and how they are read (``overrides``: ``--set key=value``,
JSON/TOML files, the ``data`` entries). The whole TrainConfig is saved in every checkpoint; the GeneratorConfig
travels in the metadata of every ``.safetensors`` file, so a weights file alone rebuilds its network.

Precedence when building a config: dataclass defaults < the task's ``defaults`` < ``--config FILE`` <
explicit CLI flags (``--size``, ``--steps`` ...) < ``--set key=value``.
"""

from .overrides import (apply_dict, data_entries, data_folders, load_config_file, parse_scalar, set_dotted,
                        set_value)
from .sections import (ADVERSARIAL_LOSSES, CONTEXT_KINDS, DIFF_AUGMENT_POLICIES, DISCRIMINATOR_KINDS, ENCODERS,
                       GENERATOR_OUTPUTS, LATENT_PATHS, MODE_SEEKING_DISTANCES, MODELS, NAN_POLICIES, NORMS,
                       PERCEPTUAL_NETS, PRECISIONS, RECONSTRUCTIONS, UPSAMPLES, VAL_BEST, DiscriminatorConfig,
                       GeneratorConfig, LossConfig, OptimConfig, TrainConfig, generator_config_from_dict, task_config)

__all__ = [
    "ADVERSARIAL_LOSSES", "CONTEXT_KINDS", "DIFF_AUGMENT_POLICIES", "DISCRIMINATOR_KINDS", "ENCODERS",
    "GENERATOR_OUTPUTS", "LATENT_PATHS", "MODE_SEEKING_DISTANCES", "MODELS", "NAN_POLICIES", "NORMS",
    "PERCEPTUAL_NETS", "PRECISIONS", "RECONSTRUCTIONS", "UPSAMPLES", "VAL_BEST", "DiscriminatorConfig",
    "GeneratorConfig", "LossConfig", "OptimConfig", "TrainConfig", "apply_dict", "data_entries", "data_folders",
    "generator_config_from_dict", "load_config_file", "parse_scalar", "set_dotted", "set_value", "task_config",
]
