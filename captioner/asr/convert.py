"""CTranslate2 Whisper weights → an openai-whisper checkpoint.

CTranslate2 stores a Whisper model as ``model.bin`` (binary version 6, spec
``WhisperSpec``; layout as written by ``ctranslate2/specs/model_spec.py``):

    uint32 version, string spec name, uint32 spec revision,
    uint32 count, then per variable: string name, uint8 rank, uint32 dims[rank],
                                     uint8 dtype id, uint32 byte count, bytes,
    uint32 count, then per alias: string alias, string target name

where a string is a uint16 length (including a NUL), the UTF-8 bytes and the
NUL.  Names follow the spec (``encoder/layer_0/self_attention/linear_0/weight``);
self-attention stacks query, key and value in one ``linear_0``, cross-attention
keeps the query in ``linear_0`` and stacks key and value in ``linear_1``, and the
key biases are stored as zeros (Whisper's key projections have none).
``gamma``/``beta`` are LayerNorm weight/bias, and the decoder's output
projection is an alias of the token embedding.

The checkpoint is what ``whisper.load_model(path)`` reads: ``{"dims": {...},
"model_state_dict": {...}}`` in float16 like OpenAI's own, plus the alignment
heads from CTranslate2's ``config.json`` (``whisper.load_model`` ignores them;
:func:`load_checkpoint_model` sets them, as it does for OpenAI's named models).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import extras
from ..errors import CaptionerError, InputError

CT2_BINARY_VERSION = 6
CT2_WHISPER_SPEC = "WhisperSpec"
# Order of CTranslate2's DataType enum (include/ctranslate2/types.h).
_CT2_DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
CHECKPOINT_FORMAT = 1


@dataclass(frozen=True)
class CT2Model:
    """The variables of a CTranslate2 ``model.bin``, aliases resolved."""

    spec: str
    revision: int
    variables: dict[str, np.ndarray]


def read_ct2_model(path: str | os.PathLike) -> CT2Model:
    """Read every variable of a CTranslate2 ``model.bin`` (arrays are views of one buffer)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    view = memoryview(data)
    offset = 0

    def take(fmt: str):
        nonlocal offset
        values = struct.unpack_from("<" + fmt, data, offset)
        offset += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def string() -> str:
        nonlocal offset
        length = take("H")
        text = bytes(view[offset : offset + length - 1]).decode("utf-8")
        offset += length
        return text

    try:
        version = take("I")
        if version != CT2_BINARY_VERSION:
            raise InputError(f"{path}: CTranslate2 binary version {version}, only {CT2_BINARY_VERSION} is supported")
        spec, revision = string(), take("I")
        variables: dict[str, np.ndarray] = {}
        for _ in range(take("I")):
            name = string()
            rank = take("B")
            shape = tuple(take(f"{rank}I")) if rank > 1 else ((take("I"),) if rank == 1 else ())
            dtype = _CT2_DTYPES[take("B")]
            nbytes = take("I")
            if offset + nbytes > len(data):
                raise InputError(f"{path}: truncated in variable {name!r}")
            if dtype == "bfloat16":  # numpy has no bfloat16: widen the upper half of float32
                raw = np.frombuffer(data, np.uint16, nbytes // 2, offset).astype(np.uint32) << 16
                array = raw.view(np.float32).reshape(shape)
            else:
                array = np.frombuffer(data, dtype, nbytes // np.dtype(dtype).itemsize, offset).reshape(shape)
            variables[name] = array
            offset += nbytes
        for _ in range(take("I")):
            alias, target = string(), string()
            variables[alias] = variables[target]
    except (struct.error, IndexError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a CTranslate2 model.bin ({exc})") from None
    return CT2Model(spec, revision, variables)


def _layer_count(variables: dict[str, np.ndarray], prefix: str) -> int:
    pattern = re.compile(rf"^{prefix}/layer_(\d+)/")
    return 1 + max((int(m.group(1)) for name in variables if (m := pattern.match(name))), default=-1)


def _split(array: np.ndarray, parts: int) -> list[np.ndarray]:
    return np.split(array, parts, axis=0)


def _attention(v: dict[str, np.ndarray], ct2: str, ow: str, *, cross: bool) -> Iterator[tuple[str, np.ndarray]]:
    """One attention block: CTranslate2's fused projections split into openai-whisper's four."""
    if cross:
        query_w, query_b = v[f"{ct2}/linear_0/weight"], v[f"{ct2}/linear_0/bias"]
        key_w, value_w = _split(v[f"{ct2}/linear_1/weight"], 2)
        key_b, value_b = _split(v[f"{ct2}/linear_1/bias"], 2)
        out = "linear_2"
    else:
        query_w, key_w, value_w = _split(v[f"{ct2}/linear_0/weight"], 3)
        query_b, key_b, value_b = _split(v[f"{ct2}/linear_0/bias"], 3)
        out = "linear_1"
    if np.any(key_b != 0):
        # openai-whisper's key projection has no bias; a non-zero one would be lost.
        raise InputError(f"{ct2}: non-zero key bias, not a Whisper model converted by CTranslate2")
    yield f"{ow}.query.weight", query_w
    yield f"{ow}.query.bias", query_b
    yield f"{ow}.key.weight", key_w
    yield f"{ow}.value.weight", value_w
    yield f"{ow}.value.bias", value_b
    yield f"{ow}.out.weight", v[f"{ct2}/{out}/weight"]
    yield f"{ow}.out.bias", v[f"{ct2}/{out}/bias"]


def _norm(v: dict[str, np.ndarray], ct2: str, ow: str) -> Iterator[tuple[str, np.ndarray]]:
    yield f"{ow}.weight", v[f"{ct2}/gamma"]
    yield f"{ow}.bias", v[f"{ct2}/beta"]


def _mlp(v: dict[str, np.ndarray], ct2: str, ow: str) -> Iterator[tuple[str, np.ndarray]]:
    yield from _norm(v, f"{ct2}/layer_norm", f"{ow}.mlp_ln")
    for i, j in ((0, 0), (1, 2)):  # openai-whisper's mlp is Sequential(Linear, GELU, Linear)
        yield f"{ow}.mlp.{j}.weight", v[f"{ct2}/linear_{i}/weight"]
        yield f"{ow}.mlp.{j}.bias", v[f"{ct2}/linear_{i}/bias"]


def openai_state_dict(model: CT2Model) -> tuple[dict[str, int], dict[str, np.ndarray]]:
    """openai-whisper's ``ModelDimensions`` and state dict for a CTranslate2 Whisper model."""
    if model.spec != CT2_WHISPER_SPEC:
        raise InputError(f"a {model.spec} model, not a Whisper model ({CT2_WHISPER_SPEC})")
    v = model.variables
    if v["encoder/conv1/weight"].dtype.kind != "f":
        raise InputError(
            f"the weights are quantized ({v['encoder/conv1/weight'].dtype}); convert a float16 or float32 "
            "CTranslate2 model (ct2-transformers-converter without --quantization int8)"
        )
    enc_layers, dec_layers = _layer_count(v, "encoder"), _layer_count(v, "decoder")
    dims = {
        "n_mels": int(v["encoder/conv1/weight"].shape[1]),
        "n_audio_ctx": int(v["encoder/position_encodings/encodings"].shape[0]),
        "n_audio_state": int(v["encoder/position_encodings/encodings"].shape[1]),
        "n_audio_head": int(v["encoder/num_heads"]),
        "n_audio_layer": enc_layers,
        "n_vocab": int(v["decoder/embeddings/weight"].shape[0]),
        "n_text_ctx": int(v["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(v["decoder/embeddings/weight"].shape[1]),
        "n_text_head": int(v["decoder/num_heads"]),
        "n_text_layer": dec_layers,
    }
    state: dict[str, np.ndarray] = {}
    try:
        for conv in ("conv1", "conv2"):
            state[f"encoder.{conv}.weight"] = v[f"encoder/{conv}/weight"]
            state[f"encoder.{conv}.bias"] = v[f"encoder/{conv}/bias"]
        state["encoder.positional_embedding"] = v["encoder/position_encodings/encodings"]
        for i in range(enc_layers):
            ct2, ow = f"encoder/layer_{i}", f"encoder.blocks.{i}"
            state.update(_attention(v, f"{ct2}/self_attention", f"{ow}.attn", cross=False))
            state.update(_norm(v, f"{ct2}/self_attention/layer_norm", f"{ow}.attn_ln"))
            state.update(_mlp(v, f"{ct2}/ffn", ow))
        state.update(_norm(v, "encoder/layer_norm", "encoder.ln_post"))

        state["decoder.token_embedding.weight"] = v["decoder/embeddings/weight"]
        state["decoder.positional_embedding"] = v["decoder/position_encodings/encodings"]
        for i in range(dec_layers):
            ct2, ow = f"decoder/layer_{i}", f"decoder.blocks.{i}"
            state.update(_attention(v, f"{ct2}/self_attention", f"{ow}.attn", cross=False))
            state.update(_norm(v, f"{ct2}/self_attention/layer_norm", f"{ow}.attn_ln"))
            state.update(_attention(v, f"{ct2}/attention", f"{ow}.cross_attn", cross=True))
            state.update(_norm(v, f"{ct2}/attention/layer_norm", f"{ow}.cross_attn_ln"))
            state.update(_mlp(v, f"{ct2}/ffn", ow))
        state.update(_norm(v, "decoder/layer_norm", "decoder.ln"))
    except KeyError as exc:
        raise InputError(f"the CTranslate2 model has no variable {exc.args[0]!r}: not a Whisper model") from None
    projection = v.get("decoder/projection/weight")
    if projection is not None and not np.array_equal(projection, v["decoder/embeddings/weight"]):
        raise InputError("the output projection is not tied to the token embedding, as openai-whisper needs")
    return dims, state


def alignment_heads(model_dir: str | os.PathLike) -> list[list[int]]:
    """The (layer, head) pairs whose cross-attention aligns words with audio, from ``config.json``."""
    try:
        config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [[int(layer), int(head)] for layer, head in config.get("alignment_heads") or []]


def checkpoint_from_ct2(model_dir: str | os.PathLike) -> dict:
    """The openai-whisper checkpoint (torch tensors, float16) of a CTranslate2 Whisper model folder."""
    torch = extras.torch("converting a model for openai-whisper")

    model_dir = Path(model_dir)
    if not (model_dir / "model.bin").is_file():
        raise InputError(f"{model_dir}: no CTranslate2 model.bin")
    dims, state = openai_state_dict(read_ct2_model(model_dir / "model.bin"))
    return {
        "dims": dims,
        # Copies: the arrays are read-only views of the file's bytes.
        "model_state_dict": {name: torch.from_numpy(np.array(a, dtype=np.float16)) for name, a in state.items()},
        "alignment_heads": alignment_heads(model_dir),
        "captioner_format": CHECKPOINT_FORMAT,
    }


def save_checkpoint(checkpoint: dict, target: Path) -> None:
    """``torch.save`` to a temporary file beside ``target``, then rename: never a half-written checkpoint."""
    torch = extras.torch("converting a model for openai-whisper")

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        # os.open with 0o666 so that the umask decides the mode, as for any new file.
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as fh:
            torch.save(checkpoint, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def load_checkpoint_model(checkpoint: dict | str | os.PathLike, device: str = "cpu"):
    """An openai-whisper ``Whisper`` model (float32, eval mode) from a checkpoint or its path.

    Alignment heads stored in the checkpoint (as :func:`checkpoint_from_ct2`
    writes them) are set; otherwise openai-whisper's default (the upper half of
    the decoder's heads) stays.
    """
    torch = extras.torch()
    model_module = extras.openai_whisper().model

    if not isinstance(checkpoint, dict):
        path = Path(checkpoint)
        try:
            checkpoint = torch.load(path, map_location=device, weights_only=True)
        except FileNotFoundError:
            raise InputError(f"{path}: no such checkpoint") from None
        except Exception as exc:  # a truncated or foreign file: torch raises several kinds
            raise InputError(f"{path}: not an openai-whisper checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(checkpoint, dict) or not {"dims", "model_state_dict"} <= checkpoint.keys():
        raise InputError("not an openai-whisper checkpoint (needs 'dims' and 'model_state_dict')")
    try:
        model = model_module.Whisper(model_module.ModelDimensions(**checkpoint["dims"]))
        model.load_state_dict(checkpoint["model_state_dict"])
    except (TypeError, RuntimeError) as exc:
        raise CaptionerError(f"the checkpoint does not fit openai-whisper's model: {exc}") from None
    heads = checkpoint.get("alignment_heads")
    if heads:
        mask = torch.zeros(model.dims.n_text_layer, model.dims.n_text_head, dtype=torch.bool)
        for layer, head in heads:
            mask[layer, head] = True
        model.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)
    return model.to(device).eval()
