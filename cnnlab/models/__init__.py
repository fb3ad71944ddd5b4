"""Networks of the lab: the seed presets, a fast CIFAR-10 net, custom Sequentials, export.

```python
from cnnlab.models import build, list_models, model_info, parse_sequential, to_code

model = build("lenet5")                               # seed 003's Net, 62,006 parameters
model = build("lenet5", in_channels=1, input_size=28) # adapted; see model.cnnlab_notes
model = parse_sequential("nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU())")
print(to_code(model))
```
"""

from cnnlab.models import fast, presets  # noqa: F401  (registers the presets)
from cnnlab.models.custom import ALLOWED_LAYERS, error_excerpt, parse_sequential
from cnnlab.models.export import to_code
from cnnlab.models.fast import FastCifarNet
from cnnlab.models.options import ACTIVATIONS, ModelOptions
from cnnlab.models.registry import (
    ModelInfo,
    TrainingRecipe,
    build,
    list_models,
    model_info,
    register_model,
)

__all__ = [
    "ACTIVATIONS",
    "ALLOWED_LAYERS",
    "FastCifarNet",
    "ModelInfo",
    "ModelOptions",
    "TrainingRecipe",
    "build",
    "error_excerpt",
    "list_models",
    "model_info",
    "parse_sequential",
    "register_model",
    "to_code",
]
