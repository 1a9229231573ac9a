"""Draw the figures of the README: `python figures/make_figures.py` rewrites figures/*.png."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent
CHAPTERS = [
    ("01", "logistic regression\nfrom scratch", "screening test:\nthresholds, calibration"),
    ("02", "CNN on MNIST\n(Keras, PyTorch)", "distribution shift"),
    ("03", "LSTM on reviews", "domain shift"),
    ("04", "BERT fine-tuning", "bias probe, cost"),
    ("05", "adversarial training", "robustness"),
    ("06", "income & recidivism\nclassifiers", "fairness audit"),
    ("07", "SHAP & LIME", "trust in explanations"),
]


def book_map(path: Path) -> None:
    fig, ax = plt.subplots(figsize=(10, 3.2))
    ax.set_xlim(0, len(CHAPTERS))
    ax.set_ylim(0, 3)
    ax.axis("off")
    for i, (num, build, audit) in enumerate(CHAPTERS):
        x = i + 0.5
        ax.text(x, 2.75, num, ha="center", va="center", fontsize=13, weight="bold")
        ax.text(x, 1.95, build, ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round,pad=0.4", fc="#dbe9f6", ec="#4a78a8"))
        ax.annotate("", xy=(x, 1.2), xytext=(x, 1.6), arrowprops=dict(arrowstyle="->", color="#555"))
        ax.text(x, 0.85, audit, ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round,pad=0.4", fc="#fbe3d6", ec="#b8643a"))
    ax.text(-0.05, 1.95, "build", ha="right", va="center", fontsize=10, style="italic")
    ax.text(-0.05, 0.85, "audit", ha="right", va="center", fontsize=10, style="italic")
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


if __name__ == "__main__":
    book_map(HERE / "book_map.png")
    print("wrote", HERE / "book_map.png")
