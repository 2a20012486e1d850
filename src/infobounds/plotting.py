"""The book's figure style and the figures that recur across chapters.

Every chapter calls :func:`set_theme` once; figures carry labelled axes with units (nats, %).
This module imports no model.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns


def set_theme() -> None:
    """Seaborn's ``whitegrid`` theme at notebook scale with the colour-blind palette."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 150, "figure.figsize": (7.0, 4.0),
                         "axes.titleweight": "bold"})


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average (same length; the first values average what is there)."""
    values = np.asarray(values, dtype=float)
    if window <= 1:
        return values
    cumsum = np.cumsum(np.insert(values, 0, 0.0))
    out = np.empty_like(values)
    for i in range(len(values)):
        lo = max(0, i + 1 - window)
        out[i] = (cumsum[i + 1] - cumsum[lo]) / (i + 1 - lo)
    return out


def plot_mi_traces(traces: Mapping[str, np.ndarray], truth: np.ndarray, *, log_k: float | None = None,
                   window: int = 50, ax=None):
    """Per-step MI estimates (faint) with their moving average (bold) against the true MI.

    ``traces`` maps an estimator's name to its per-step values; ``truth`` is the true MI per step.
    ``log_k`` draws the log K ceiling of InfoNCE.
    """
    names = list(traces)
    if ax is None:
        fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.4), sharey=True, squeeze=False)
        axes = axes[0]
    else:
        axes = np.atleast_1d(ax)
    palette = sns.color_palette("colorblind", len(names))
    steps = np.arange(1, len(truth) + 1)
    for a, name, color in zip(axes, names, palette):
        values = np.asarray(traces[name])
        a.plot(steps, values, color=color, alpha=0.25, lw=0.6)
        a.plot(steps, moving_average(values, window), color=color, lw=1.8, label=name)
        a.plot(steps, truth, color="black", lw=1.2, ls="--", label="true MI")
        if log_k is not None:
            a.axhline(log_k, color="grey", lw=1.0, ls=":", label="log K")
        a.set_title(name)
        a.set_xlabel("training step")
    axes[0].set_ylabel("estimate (nats)")
    axes[0].legend(loc="upper left", fontsize="small")
    return axes


def plot_sweep(x: Sequence[float], series: Mapping[str, Sequence[float]], *, xlabel: str, ylabel: str,
               logx: bool = True, ax=None, marker: str = "o"):
    """One line per series against a swept hyper-parameter (beta sweeps)."""
    if ax is None:
        _, ax = plt.subplots()
    for name, ys in series.items():
        ax.plot(x, ys, marker=marker, label=name)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if len(series) > 1:
        ax.legend()
    return ax


def plot_information_plane(i_zx: Sequence[float], i_zy: Sequence[float], labels: Sequence[str], *,
                           h_y: float | None = None, ax=None, xlabel: str = "rate, upper bound on I(Z;X) (nats)",
                           ylabel: str = "H(Y) - CE, lower bound on I(Z;Y) (nats)"):
    """The information plane: one point per model, annotated (for a beta sweep, by beta)."""
    if ax is None:
        _, ax = plt.subplots()
    ax.plot(i_zx, i_zy, "-", color="grey", lw=1, zorder=1)
    ax.scatter(i_zx, i_zy, c=sns.color_palette("viridis", len(i_zx)), s=60, zorder=2)
    for x, y, label in zip(i_zx, i_zy, labels):
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(6, -12), fontsize="small")
    if h_y is not None:
        ax.axhline(h_y, color="black", ls="--", lw=1, label="H(Y)")
        ax.legend(loc="lower right")
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def image_grid(images, nrow: int = 8, ax=None, title: str | None = None):
    """Show (N, 1, H, W) or (N, H, W) images in [0, 1] as a grid."""
    images = np.asarray(images)
    if images.ndim == 4:
        images = images[:, 0]
    n, h, w = images.shape
    ncol = int(np.ceil(n / nrow))
    grid = np.ones((ncol * (h + 1) - 1, nrow * (w + 1) - 1))
    for k in range(n):
        r, c = divmod(k, nrow)
        grid[r * (h + 1): r * (h + 1) + h, c * (w + 1): c * (w + 1) + w] = images[k]
    if ax is None:
        _, ax = plt.subplots(figsize=(nrow * 0.6, ncol * 0.6))
    ax.imshow(grid, cmap="gray_r", vmin=0, vmax=1)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


def plot_rate_distortion(points: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
                         curves: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None, *,
                         point_labels: Mapping[str, Sequence[str]] | None = None,
                         entropy: float | None = None,
                         sums: Mapping[str, float] | None = None,
                         sandwich: tuple[Sequence[float], Sequence[float], Sequence[float]] | None = None,
                         ax=None, xlabel: str = "distortion D (nats)", ylabel: str = "rate R (nats)",
                         legend_loc: str = "best"):
    """The rate-distortion plane, distortion across and rate up (chapters 06 and 07).

    Parameters
    ----------
    points : name -> (D, R) of trained models (a beta sweep, an upper bound), drawn as markers
        joined by a thin line; ``point_labels[name]`` annotates each marker (e.g. its beta).
    curves : name -> (D, R) drawn as lines; a name starting with ``"true"`` is drawn in black.
    entropy : H of the data; shades the feasible region R >= 0, D >= 0, D + R >= H and hatches the
        triangle D + R < H that no encoder/decoder pair can reach (chapter 06).
    sums : label -> c, dotted reference lines D + R = c (e.g. a model's negative log-likelihood);
        they do not change the axis limits.
    sandwich : (D, lower, upper) shades the band between a lower and an upper bound (chapter 07).
    legend_loc : where matplotlib puts the legend.
    """
    if ax is None:
        _, ax = plt.subplots()
    palette = iter(sns.color_palette("colorblind", 10))
    x_max, y_max = 0.0, 0.0
    for name, (d, r) in (curves or {}).items():
        d, r = np.asarray(d, float), np.asarray(r, float)
        if name.startswith("true"):
            ax.plot(d, r, color="black", lw=1.8, label=name, zorder=3)
        else:
            ax.plot(d, r, lw=1.5, ls="--", color=next(palette), label=name, zorder=3)
        x_max, y_max = max(x_max, np.nanmax(d)), max(y_max, np.nanmax(r))
    for name, (d, r) in (points or {}).items():
        d, r = np.asarray(d, float), np.asarray(r, float)
        color = next(palette)
        ax.plot(d, r, "-", color=color, lw=0.8, alpha=0.6, zorder=4)
        ax.scatter(d, r, color=color, s=40, zorder=5, label=name, edgecolor="white", linewidth=0.5)
        for x, y, text in zip(d, r, (point_labels or {}).get(name, [])):
            ax.annotate(text, (x, y), textcoords="offset points", xytext=(6, 4), fontsize="small")
        x_max, y_max = max(x_max, d.max()), max(y_max, r.max())
    if sandwich is not None:
        d, lo, hi = (np.asarray(a, float) for a in sandwich)
        ax.fill_between(d, lo, hi, color="grey", alpha=0.2, lw=0, label="sandwich", zorder=1)
    if entropy is not None:
        x_max, y_max = max(x_max, entropy), max(y_max, entropy)
    x_lim, y_lim = 1.05 * x_max, 1.08 * y_max
    if entropy is not None:
        h = float(entropy)
        ax.fill([0, h, x_lim, x_lim, 0], [h, 0, 0, y_lim, y_lim], color=sns.color_palette("colorblind")[2],
                alpha=0.08, lw=0, label="feasible: D + R >= H", zorder=0)
        ax.fill([0, h, 0], [0, 0, h], facecolor="none", hatch="///", edgecolor="grey", lw=0,
                label="infeasible: D + R < H", zorder=0)
        ax.plot([0, h], [h, 0], color="grey", lw=1.0)
    for label, c in (sums or {}).items():
        ax.plot([0, c], [c, 0], color="grey", ls=":", lw=1.2, label=label)
    ax.set_xlim(0, x_lim)
    ax.set_ylim(0, y_lim)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small", loc=legend_loc)
    return ax


def plot_latent_traversals(decode, z0, dims: Sequence[int], values: Sequence[float], *, ax=None,
                           title: str | None = None, row_labels: Sequence[str] | None = None,
                           value_label: str | None = None):
    """Latent traversals (chapters 13-14): row i decodes ``z0`` with coordinate ``dims[i]`` set to
    each of ``values`` in turn. ``decode`` maps an (n, K) tensor of codes to (n, 1, H, W) or (n, H, W)
    images in [0, 1]; ``z0`` is one code (K,). With ``value_label`` the columns get an axis: the
    traversal values as ticks under the grid and ``value_label`` as its title."""
    import torch

    z0 = torch.as_tensor(z0).reshape(-1)
    codes = z0.repeat(len(dims) * len(values), 1)
    for i, d in enumerate(dims):
        codes[i * len(values):(i + 1) * len(values), d] = torch.as_tensor(values, dtype=z0.dtype)
    with torch.no_grad():
        images = decode(codes).detach().cpu().numpy()
    ax = image_grid(images, nrow=len(values), ax=ax, title=title)
    h = images.shape[-2]
    labels = row_labels if row_labels is not None else [f"z{d}" for d in dims]
    for i, label in enumerate(labels):
        ax.text(-2, i * (h + 1) + h / 2, label, ha="right", va="center", fontsize="small")
    if value_label is not None:
        w = images.shape[-1]
        ax.set_axis_on()
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.grid(False)  # grid lines would cross the images
        ax.set_yticks([])
        ax.set_xticks([c * (w + 1) + (w - 1) / 2 for c in range(len(values))],
                      [f"{v:.3g}" for v in values], fontsize="small")
        ax.set_xlabel(value_label)
    return ax


def plot_image_rows(rows: Mapping[str, object], *, n: int = 10, title: str | None = None, row_height: float = 0.75):
    """Labelled rows of images (chapters 18-21): ``rows`` maps a label to (N, C, H, W) or (N, H, W)
    images in [0, 1] (the first ``n`` are shown); rows may differ in image size. Colour images
    (C = 3) are shown in colour, grey ones in inverted grey."""
    labels = list(rows)
    fig, axes = plt.subplots(len(labels), n, figsize=(n * row_height, len(labels) * row_height), squeeze=False)
    for r, label in enumerate(labels):
        images = np.asarray(rows[label])[:n]
        for c in range(n):
            ax = axes[r, c]
            ax.axis("off")
            if c >= len(images):
                continue
            img = images[c]
            if img.ndim == 3 and img.shape[0] == 3:
                ax.imshow(np.clip(img.transpose(1, 2, 0), 0, 1))
            else:
                ax.imshow(img.reshape(img.shape[-2], img.shape[-1]), cmap="gray_r", vmin=0, vmax=1)
        axes[r, 0].text(-0.15, 0.5, label, transform=axes[r, 0].transAxes, ha="right", va="center",
                        fontsize="small")
    if title:
        fig.suptitle(title)
    fig.subplots_adjust(left=0.2, wspace=0.05, hspace=0.08)
    return axes


def plot_tradeoff(runs, metric: str, *, x: str = "distortion", method: str = "method", setting: str = "setting",
                  ax=None, xlabel: str = "reconstruction error", ylabel: str | None = None,
                  chance: float | None = None, ylim: tuple[float, float] | None = None, legend: bool = True):
    """The disentanglement trade-off of Kim & Mnih (2018) (chapters 13-14): ``metric`` against the
    reconstruction error ``x``, a small point per run (one seed of one setting) and a large one at
    each setting's seed mean, labelled with the setting and joined per method in order of ``x``.

    ``runs`` is a table (a pandas DataFrame) with one row per run and columns ``method``,
    ``setting``, ``x`` and ``metric``. ``chance`` draws the metric's chance level.
    """
    for column in (method, setting, x, metric):
        if column not in runs.columns:
            raise ValueError(f"runs has no column {column!r}; it has {', '.join(map(str, runs.columns))}")
    if len(runs) == 0:
        raise ValueError("runs is empty: nothing to plot")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.6))
    methods = list(dict.fromkeys(runs[method]))
    palette = dict(zip(methods, sns.color_palette("colorblind", len(methods))))
    for name in methods:
        rows = runs[runs[method] == name]
        color = palette[name]
        ax.scatter(rows[x], rows[metric], color=color, s=14, alpha=0.5, linewidth=0, zorder=2)
        means = rows.groupby(setting, sort=False)[[x, metric]].mean().sort_values(x)
        ax.plot(means[x], means[metric], "-", color=color, lw=1, alpha=0.8, zorder=3)
        ax.scatter(means[x], means[metric], color=color, s=55, edgecolor="white", linewidth=0.6, zorder=4,
                   label=name)
        for label, (mx, my) in means.iterrows():
            ax.annotate(str(label), (mx, my), textcoords="offset points", xytext=(5, 4), fontsize="x-small",
                        color=color)
    if chance is not None:
        ax.axhline(chance, color="grey", ls=":", lw=1, label="chance")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel if ylabel is not None else metric)
    if legend:
        ax.legend(fontsize="small")
    return ax


def plot_diagram(boxes: Mapping[str, tuple], arrows: Sequence[tuple] = (), *, ax=None,
                 size: tuple[float, float] | None = None, fontsize: float = 10):
    """A schematic of a model as labelled boxes joined by arrows (the book's model diagrams).

    ``boxes`` maps a name to ``(x, y, text)`` or ``(x, y, text, colour)``: the box's centre in
    data coordinates (the axes span the boxes with a margin and are hidden), its label (mathtext
    allowed) and its face colour (default light grey). Each arrow is ``(start, end)`` or
    ``(start, end, options)`` with ``options`` a dict of ``label`` (text placed beside the
    arrow's middle), ``at_start`` and ``at_end`` (where the arrow leaves and meets each box, as
    fractions of its width and height; default the right edge of the start and the left edge of
    the end) and any other key passed to the arrow's ``arrowprops`` (``ls``,
    ``connectionstyle``, ``color``). Arrows end on the boxes' edges because they are placed in
    each box's own coordinates. Returns the axes and the boxes' text artists by name.
    """
    if not boxes:
        raise ValueError("boxes is empty: a diagram needs at least one box")
    for name, box in boxes.items():
        if len(box) not in (3, 4):
            raise ValueError(f"box {name!r} is {box!r}; expected (x, y, text) or (x, y, text, colour)")
        if not (np.isfinite(box[0]) and np.isfinite(box[1])):
            raise ValueError(f"box {name!r} has a non-finite position ({box[0]}, {box[1]})")
    for arrow in arrows:
        for end in arrow[:2]:
            if end not in boxes:
                raise ValueError(f"arrow {arrow[:2]!r} names the box {end!r}, which is not in boxes "
                                 f"({', '.join(boxes)})")
    xs = [box[0] for box in boxes.values()]
    ys = [box[1] for box in boxes.values()]
    if ax is None:
        width = size[0] if size else max(4.0, 1.1 * (max(xs) - min(xs)) + 2.5)
        height = size[1] if size else max(1.6, 1.1 * (max(ys) - min(ys)) + 1.4)
        _, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(min(xs) - 1.2, max(xs) + 1.2)
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    ax.axis("off")
    nodes = {}
    for name, (x, y, text, *colour) in boxes.items():
        face = colour[0] if colour else "0.93"
        nodes[name] = ax.text(x, y, text, ha="center", va="center", fontsize=fontsize,
                              bbox=dict(boxstyle="round,pad=0.45", fc=face, ec="0.35"))
    ax.figure.canvas.draw()  # the boxes' sizes, so that the arrows end on their edges
    for start, end, *rest in arrows:
        options = dict(rest[0]) if rest else {}
        label = options.pop("label", "")
        at_start = options.pop("at_start", (1, 0.5))
        at_end = options.pop("at_end", (0, 0.5))
        line = dict(arrowstyle="-|>", color="0.3", lw=1.2)
        line.update(options)
        ax.annotate("", xy=at_end, xycoords=nodes[end], xytext=at_start, textcoords=nodes[start],
                    arrowprops=line)
        if label:
            (x0, y0), (x1, y1) = boxes[start][:2], boxes[end][:2]
            ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.22, label, ha="center", va="bottom",
                    fontsize=fontsize)
    return ax, nodes


# Where each region's label sits in an information diagram of two or three unit circles: the
# regions are named by the circles they lie in ("0", "01", "012", ...).
_DIAGRAM_CENTRES = {2: [(-0.55, 0.0), (0.55, 0.0)],
                    3: [(-0.55, 0.35), (0.55, 0.35), (0.0, -0.6)]}
_DIAGRAM_LABELS = {
    2: {"0": (-0.95, 0.0), "1": (0.95, 0.0), "01": (0.0, 0.0)},
    3: {"0": (-0.95, 0.55), "1": (0.95, 0.55), "2": (0.0, -1.15), "01": (0.0, 0.72),
        "02": (-0.55, -0.35), "12": (0.55, -0.35), "012": (0.0, 0.05)},
}


def plot_information_diagram(names: Sequence[str], regions: Mapping[str, str], *, ax=None,
                             fontsize: float = 10, title: str | None = None):
    """An information diagram (MacKay 2003, Figure 8.1; Yeung's I-measure) of two or three
    variables: one circle per variable, standing for its entropy, and a label in each region.

    ``names`` are the circles' labels (e.g. ``["H(X)", "H(Y)"]``); ``regions`` maps a region,
    named by the indices of the circles it lies in (``"0"``, ``"1"``, ``"01"`` for two circles;
    also ``"2"``, ``"02"``, ``"12"``, ``"012"`` for three), to its text, e.g.
    ``{"0": "H(X|Y)", "01": "I(X;Y)", "1": "H(Y|X)"}``. Regions left out stay blank. The areas
    are not proportional to the quantities. Returns the axes.
    """
    from matplotlib.patches import Circle

    if len(names) not in _DIAGRAM_CENTRES:
        raise ValueError(f"names has {len(names)} entries; an information diagram has 2 or 3 circles")
    places = _DIAGRAM_LABELS[len(names)]
    for region in regions:
        if region not in places:
            raise ValueError(f"region {region!r} is not a region of {len(names)} circles; "
                             f"use one of {', '.join(places)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.6 if len(names) == 2 else 4.2))
    colours = sns.color_palette("colorblind", len(names))
    for (cx, cy), name, colour in zip(_DIAGRAM_CENTRES[len(names)], names, colours):
        ax.add_patch(Circle((cx, cy), 1.0, fc=(*colour, 0.18), ec=colour, lw=1.6))
        dx, dy = (cx, cy)
        ax.text(cx + 0.75 * np.sign(dx), cy + (1.12 if dy >= 0 else -1.18), name, color=colour,
                ha="center", va="center", fontsize=fontsize + 1, fontweight="bold")
    for region, text in regions.items():
        ax.text(*places[region], text, ha="center", va="center", fontsize=fontsize)
    ax.set_xlim(-1.8, 1.8)
    ax.set_ylim(-1.9 if len(names) == 3 else -1.4, 1.7)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax
