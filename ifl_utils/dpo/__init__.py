"""DPO chapter (04): preference pairs from IFLLM, SFT then per-pair robust DPO + NLL on LoRA adapters,
evaluation by implicit reward, an offline proxy judge and (when configured) an LLM judge.

Modules: :mod:`.model` (offline base model), :mod:`.data` (pairs, label sources, worker split),
:mod:`.loss` (rDPO + NLL), :mod:`.train` (config, training loop, generation, CLI),
:mod:`.evaluate` (metrics and the proxy judge).
"""
