"""rnnbook: the package behind the executable RNN textbook.

The package has floors, each for one kind of reader; a module imports only from its own
floor or the floors below it (``tests/test_architecture.py`` checks it):

==========================  ==================================================================
:mod:`rnnbook.helpers`      the book's helpers: data sets, the training loop, plots, diagnostics
:mod:`rnnbook.seq`          sequence machinery: the four structures of the notes, padding and
                            masks, losses, seq2seq, attention, scheduled sampling, embeddings
:mod:`rnnbook.notes`        the notes' own forms, kept to be checked: the Elman network, the
                            five-step LSTM, the first version, the NumPy and SymPy BPTT
:mod:`rnnbook.variants`     Clockwork RNN, SRU, QRNN, minGRU/minLSTM and the parallel scan
:mod:`rnnbook.layers`       the readable layers: RNN, GRU, LSTM (drop-in for torch's), peephole
:mod:`rnnbook.kernels`      the speed kernels under the layers (hand-written BPTT); a learner
                            never needs to open them
==========================  ==================================================================

Every public name of the floors from ``layers`` up is also reachable here
(``rnnbook.LSTM``, ``rnnbook.NToN``, ``rnnbook.linear_scan``, ``rnnbook.fit``), except the
names of the modules best read as modules: :mod:`rnnbook.notes.bptt`,
:mod:`rnnbook.notes.bptt_symbolic` and the figures, :mod:`rnnbook.helpers.plot`,
:mod:`rnnbook.helpers.diagrams`, :mod:`rnnbook.helpers.traces` and
:mod:`rnnbook.helpers.figures_variants`. Nothing is imported
until it is first used (PEP 562), so ``import rnnbook`` is cheap and SymPy or Matplotlib
load only for the code that needs them.

>>> import rnnbook
>>> rnnbook.LSTM(3, 5)
LSTM(3, 5)
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: The subpackages, bottom floor first.
SUBPACKAGES = ("kernels", "layers", "variants", "notes", "seq", "helpers")

# public name -> the module (below rnnbook) that defines it
_EXPORTS = {
    # rnnbook.layers.base
    "RecurrentLayer": "layers.base", "CellBase": "layers.base", "BPTT_MODES": "layers.base",
    # rnnbook.layers.gru
    "GRUCell": "layers.gru", "GRU": "layers.gru", "gru_step": "layers.gru",
    # rnnbook.layers.lstm
    "LSTMCell": "layers.lstm", "LSTM": "layers.lstm", "PeepholeLSTMCell": "layers.lstm",
    "PeepholeLSTM": "layers.lstm", "lstm_step": "layers.lstm", "peephole_lstm_step": "layers.lstm",
    # rnnbook.layers.rnn
    "RNNCell": "layers.rnn", "RNN": "layers.rnn", "elman_step": "layers.rnn",
    # rnnbook.layers.packing
    "check_lengths": "layers.packing", "sequence_lengths": "layers.packing",
    "length_mask": "layers.packing", "mask_padding": "layers.packing",
    "reverse_within_lengths": "layers.packing", "run_with_lengths": "layers.packing",
    "unpack_input": "layers.packing", "pack_output": "layers.packing", "PackInfo": "layers.packing",
    # rnnbook.variants.clockwork
    "ClockworkRNN": "variants.clockwork",
    # rnnbook.variants.mingru
    "MinGRU": "variants.mingru", "MinLSTM": "variants.mingru",
    # rnnbook.variants.qrnn
    "QRNN": "variants.qrnn", "QRNNPoolingBPTT": "variants.qrnn",
    # rnnbook.variants.scan
    "linear_scan": "variants.scan", "linear_recurrence_loop": "variants.scan",
    "linear_recurrence_bptt": "variants.scan", "linear_recurrence": "variants.scan",
    "reverse_recurrence": "variants.scan", "LinearRecurrenceBPTT": "variants.scan",
    "LINEAR_BPTT_MODES": "variants.scan", "OpCount": "variants.scan", "count_ops": "variants.scan",
    # rnnbook.variants.sru
    "SRU": "variants.sru", "SRULayerBPTT": "variants.sru",
    # rnnbook.notes.elman
    "ElmanNetwork": "notes.elman", "MLP": "notes.elman",
    # rnnbook.notes.first_version
    "NotesFirstVersionCell": "notes.first_version", "NotesFirstVersion": "notes.first_version",
    # rnnbook.notes.lstm_steps
    "NotesStep2Cell": "notes.lstm_steps", "NotesStep3Cell": "notes.lstm_steps",
    "NotesStep4Cell": "notes.lstm_steps", "NotesStep5Cell": "notes.lstm_steps",
    "NotesLSTM": "notes.lstm_steps", "notes_cell": "notes.lstm_steps",
    "step5_from_lstm": "notes.lstm_steps",
    # rnnbook.seq.attention
    "SCORES": "seq.attention", "LuongAttention": "seq.attention",
    "AdditiveAttention": "seq.attention", "AttentionDecoder": "seq.attention",
    "SaturationTable": "seq.attention", "softmax_saturation": "seq.attention",
    # rnnbook.seq.bahdanau
    "BahdanauDecoder": "seq.bahdanau",
    # rnnbook.seq.beam
    "LENGTH_NORMS": "seq.beam", "length_penalty": "seq.beam", "Hypotheses": "seq.beam",
    "beam_search": "seq.beam",
    # rnnbook.seq.bleu
    "BleuScore": "seq.bleu", "corpus_bleu": "seq.bleu", "token_lists": "seq.bleu",
    # rnnbook.seq.decoding
    "Decoder": "seq.decoding", "OneToN": "seq.decoding", "NToM": "seq.decoding",
    "STRUCTURES": "seq.decoding", "make_structure": "seq.decoding",
    # rnnbook.seq.embedding
    "embed_by_one_hot": "seq.embedding", "InputCost": "seq.embedding",
    "input_costs": "seq.embedding", "pca_2d": "seq.embedding", "nearest_neighbours": "seq.embedding",
    "nearest_neighbour_agreement": "seq.embedding", "within_between": "seq.embedding",
    "unigram_perplexity": "seq.embedding", "perplexity": "seq.embedding",
    # rnnbook.seq.word2vec
    "noise_distribution": "seq.word2vec", "subsample": "seq.word2vec",
    "skipgram_pairs": "seq.word2vec", "sgns_loss": "seq.word2vec", "sgns_gradients": "seq.word2vec",
    "SkipGram": "seq.word2vec", "Word2VecRun": "seq.word2vec", "train_word2vec": "seq.word2vec",
    # rnnbook.seq.losses
    "masked_cross_entropy": "seq.losses", "sequence_loss": "seq.losses",
    # rnnbook.seq.padding
    "IGNORE_INDEX": "seq.padding", "one_hot": "seq.padding",
    "pad_sequences": "seq.padding",
    "check_tokens": "seq.padding", "map_state": "seq.padding", "select_state": "seq.padding",
    "run_layer": "seq.padding", "shift_right": "seq.padding",
    # rnnbook.seq.sampling
    "SCHEDULES": "seq.sampling", "linear_schedule": "seq.sampling",
    "exponential_schedule": "seq.sampling", "inverse_sigmoid_schedule": "seq.sampling",
    "make_schedule": "seq.sampling", "scheduled_sampling_loss": "seq.sampling",
    # rnnbook.seq.seq2seq
    "Seq2Seq": "seq.seq2seq", "ATTENTIONS": "seq.seq2seq", "build_seq2seq": "seq.seq2seq", "exact_match": "seq.seq2seq",
    "sequence_log_prob": "seq.seq2seq", "decode": "seq.seq2seq",
    # rnnbook.seq.structures
    "available_layers": "seq.structures", "ENCODINGS": "seq.structures",
    "make_layer": "seq.structures", "TokenInput": "seq.structures", "NToN": "seq.structures",
    "NToOne": "seq.structures", "Encoder": "seq.structures", "EncoderOutput": "seq.structures",
    # rnnbook.helpers.data
    "echo_task": "helpers.data", "sum_of_sines": "helpers.data", "zen_of_python": "helpers.data",
    "CharVocab": "helpers.data", "TOY_CATEGORIES": "helpers.data", "toy_grammar": "helpers.data",
    "max_task": "helpers.data", "count_up_task": "helpers.data", "collapse_task": "helpers.data",
    "DATE_FORMATS": "helpers.data", "DATE_SOURCE_CHARS": "helpers.data",
    "DATE_TARGET_CHARS": "helpers.data", "PAD": "helpers.data", "START": "helpers.data",
    "END": "helpers.data", "DatePairs": "helpers.data", "date_pairs": "helpers.data",
    "encode_chars": "helpers.data", "decode_chars": "helpers.data",
    "adding_problem": "helpers.data", "future_task": "helpers.data",
    # rnnbook.helpers.checks
    "check": "helpers.checks", "check_close": "helpers.checks", "check_same_module": "helpers.checks",
    # rnnbook.helpers.diagnostics
    "state_jacobians": "helpers.diagnostics", "jacobian_norms": "helpers.diagnostics",
    # rnnbook.helpers.introspect
    "source_lines": "helpers.introspect", "show_source": "helpers.introspect",
    "count_torch_calls": "helpers.introspect",
    # rnnbook.helpers.train
    "seed_everything": "helpers.train", "scores_of": "helpers.train", "accuracy": "helpers.train",
    "fit": "helpers.train", "show_progress": "helpers.train", "last_step_mse": "helpers.train",
    "AddingRun": "helpers.train", "fit_adding_task": "helpers.train",
    "fit_seq2seq": "helpers.train",
    # rnnbook.helpers.text
    "CORPUS_FILE": "helpers.text", "CORPUS_SHA256": "helpers.text", "python_docs": "helpers.text",
    "TextSplits": "helpers.text", "load_python_docs": "helpers.text", "split_text": "helpers.text",
    "tokenize_words": "helpers.text", "WordVocab": "helpers.text", "TBPTTBatches": "helpers.text",
    # rnnbook.helpers.numbers
    "NUMBERS_FILE": "helpers.numbers", "NUMBERS_SHA256": "helpers.numbers", "LANGUAGES": "helpers.numbers",
    "number_words": "helpers.numbers", "number_tokens": "helpers.numbers",
    "join_number_tokens": "helpers.numbers", "TokenVocab": "helpers.numbers",
    "NumberPairs": "helpers.numbers", "NumberTask": "helpers.numbers",
    "load_number_pairs": "helpers.numbers",
    # rnnbook.helpers.baselines
    "as_symbols": "helpers.baselines", "unigram_bits": "helpers.baselines",
    "KneserNeyLM": "helpers.baselines", "seasonal_naive": "helpers.baselines",
    "fit_autoregression": "helpers.baselines", "autoregression_forecast": "helpers.baselines",
    "forecast_windows": "helpers.baselines",
    # rnnbook.helpers.series
    "CO2_FILE": "helpers.series", "CO2_SHA256": "helpers.series", "MonthlySeries": "helpers.series",
    "mauna_loa_co2": "helpers.series",
    # rnnbook.helpers.lm
    "LM_LAYERS": "helpers.lm", "make_lm_layer": "helpers.lm", "char_lm": "helpers.lm",
    "count_parameters": "helpers.lm", "hidden_size_for": "helpers.lm", "LMRun": "helpers.lm",
    "fit_lm": "helpers.lm", "evaluate_bits": "helpers.lm", "sample_text": "helpers.lm",

}

__all__ = list(SUBPACKAGES) + list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"rnnbook.{_EXPORTS[name]}"), name)
    elif name in SUBPACKAGES:
        value = importlib.import_module(f"rnnbook.{name}")
    else:
        raise AttributeError(f"module 'rnnbook' has no attribute {name!r}")
    globals()[name] = value  # cache: the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
