"""A local arXiv for tests: /e-print/ID and /pdf/ID from a threading HTTP server.

Like tests/fakellm/, it runs on loopback in a thread and records what it was asked
(`requests`). It serves, by id, what a test puts there (`serve`), and out of the box
the papers the arXiv tests read (`with_papers`):

- 1706.03762: the LaTeX source of a mini "Attention Is All You Need", a gzipped tar of
  main.tex and sections/model.tex (\\input by main.tex): sections and subsections, the
  sentence "where $d_k$ is the dimension of the keys" in 3.2 before 3.2.1 uses `d_k`,
  numbered equations (one `equation`, an `align` of two rows), a `\\[...\\]` display;
- 1707.06347: PPO's objective as a single gzipped .tex file (arXiv's other form);
- 1606.06565: a paper with no source, whose e-print is its PDF (as arXiv does);
- 1810.04805: a source too large for the limit a test sets, while its PDF fits;
- 2401.00001: an answer that takes longer than any test's timeout;
- 2401.00002: an e-print that redirects to another host;
- 2401.00003: an e-print that redirects on the same host, to its versioned address;
- anything else: 404, as arXiv answers an id it does not have.
"""

from __future__ import annotations

import gzip
import io
import random
import tarfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

ATTENTION_MAIN = r"""\documentclass{article}
\usepackage{amsmath}
% The paper's own macros, as real papers write them.
\newcommand{\dmodel}{d_{\text{model}}}
\title{Attention Is All You Need\thanks{Equal contribution.}}
\author{Ashish Vaswani \and Noam Shazeer}
\begin{document}
\maketitle
\begin{abstract}
The dominant sequence transduction models are based on complex recurrent or
convolutional neural networks. We propose a new simple network architecture, the
Transformer, based solely on attention mechanisms.
\end{abstract}

\section{Introduction}
Recurrent neural networks, long short-term memory~\cite{hochreiter1997} and gated
recurrent neural networks have been firmly established as state of the art approaches
in sequence modeling. % a comment no reader must see

\section{Background}
The goal of reducing sequential computation also forms the foundation of the Extended
Neural GPU, ByteNet and ConvS2S (see Section~\ref{sec:model}).

\input{sections/model}

\section*{Acknowledgements}
We are grateful to Nal Kalchbrenner and Stephan Gouws for their fruitful comments.
\end{document}
"""

ATTENTION_MODEL = r"""\section{Model Architecture}\label{sec:model}
Most competitive neural sequence transduction models have an encoder-decoder structure.

\subsection{Encoder and Decoder Stacks}
The encoder is composed of a stack of $N = 6$ identical layers. All sub-layers in the
model produce outputs of dimension $\dmodel = 512$.

\subsection{Attention}
An attention function can be described as mapping a query and a set of key-value pairs
to an output. The queries and keys have dimension $d_k$, where $d_k$ is the dimension of
the keys, and the values have dimension $d_v$.

\subsubsection{Scaled Dot-Product Attention}\label{sec:sdpa}
We compute the dot products of the query with all keys, divide each by $\sqrt{d_k}$, and
apply a softmax function to obtain the weights on the values:
\begin{equation}
  \mathrm{Attention}(Q, K, V) = \mathrm{softmax}\left(\frac{QK^T}{\sqrt{d_k}}\right)V
  \label{eq:attention}
\end{equation}
We suspect that for large values of $d_k$, the dot products grow large in magnitude
(Equation~\eqref{eq:attention}).

\subsubsection{Multi-Head Attention}
Multi-head attention allows the model to attend to information from different
representation subspaces:
\[
  \mathrm{MultiHead}(Q, K, V) = \mathrm{Concat}(\mathrm{head}_1, \dots, \mathrm{head}_h)W^O
\]
In this work we employ $h = 8$ parallel attention layers, or heads.

\subsection{Positional Encoding}
We use sine and cosine functions of different frequencies:
\begin{align}
  PE_{(pos, 2i)} &= \sin(pos / 10000^{2i/\dmodel}) \label{eq:pe-sin} \\
  PE_{(pos, 2i+1)} &= \cos(pos / 10000^{2i/\dmodel})
\end{align}
where $pos$ is the position and $i$ is the dimension.
"""

PPO_TEX = r"""\documentclass{article}
\title{Proximal Policy Optimization Algorithms}
\begin{document}
\section{Background: Policy Optimization}
\subsection{Policy Gradient Methods}
Policy gradient methods work by computing an estimator of the policy gradient:
\begin{equation}
  \hat{g} = \hat{\mathbb{E}}_t \left[ \nabla_\theta \log \pi_\theta(a_t \mid s_t) \hat{A}_t \right]
\end{equation}
where $\pi_\theta$ is a stochastic policy and $\hat{A}_t$ is an estimator of the advantage
function at timestep $t$.
\end{document}
"""

ATTENTION = "1706.03762"
PPO = "1707.06347"
PDF_ONLY = "1606.06565"
LARGE_SOURCE = "1810.04805"
SLOW = "2401.00001"
REDIRECTS_AWAY = "2401.00002"
REDIRECTS_HOME = "2401.00003"


def tarball(files: dict[str, str | bytes], *, compressed: bool = True) -> bytes:
    """A tar of `files` (name -> content), gzipped unless told otherwise."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    # mtime 0: the same files make the same bytes, so a test can compare them.
    return gzip.compress(buffer.getvalue(), mtime=0) if compressed else buffer.getvalue()


def attention_source() -> bytes:
    return tarball({"main.tex": ATTENTION_MAIN, "sections/model.tex": ATTENTION_MODEL})


def minimal_pdf(title: str, lines: list[str]) -> bytes:
    """A one-page PDF with a text layer (reportlab, a dev dependency)."""
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.setTitle(title)
    page.setFont("Helvetica-Bold", 16)
    page.drawString(72, 760, title)
    page.setFont("Helvetica", 11)
    for number, line in enumerate(lines):
        page.drawString(72, 720 - 16 * number, line)
    page.showPage()
    page.save()
    return buffer.getvalue()


@dataclass
class Answer:
    """What the fake sends for one path."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds before the headers, and between the body's chunks.
    delay: float = 0.0
    # Send without Content-Length (chunked), as a server that does not know the size.
    chunked: bool = False


class FakeArxiv:
    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.requests: list[str] = []
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve(self, path: str, answer: Answer) -> None:
        self.answers[path] = answer

    def with_papers(self) -> FakeArxiv:
        """Serve the papers the module docstring lists."""
        pdf = minimal_pdf(
            "Concrete Problems in AI Safety",
            ["1 Introduction", "where R is the reward function of the agent."],
        )
        self.serve(f"/e-print/{ATTENTION}", Answer(body=attention_source()))
        self.serve(f"/pdf/{ATTENTION}", Answer(body=pdf))
        self.serve(f"/e-print/{PPO}", Answer(body=gzip.compress(PPO_TEX.encode())))
        self.serve(f"/e-print/{PDF_ONLY}", Answer(body=pdf))
        self.serve(f"/pdf/{PDF_ONLY}", Answer(body=pdf))
        # Incompressible, so the gzip is as large as it says: 300 KiB of source.
        figures = {"main.tex": PPO_TEX, "figure.png": random.Random(1810).randbytes(300 * 1024)}
        self.serve(f"/e-print/{LARGE_SOURCE}", Answer(body=tarball(figures), chunked=True))
        self.serve(f"/pdf/{LARGE_SOURCE}", Answer(body=pdf))
        self.serve(f"/e-print/{SLOW}", Answer(body=attention_source(), delay=3.0))
        away = {"Location": f"http://elsewhere.invalid/e-print/{ATTENTION}"}
        self.serve(f"/e-print/{REDIRECTS_AWAY}", Answer(status=302, headers=away))
        home = {"Location": f"/e-print/{REDIRECTS_HOME}v2"}
        self.serve(f"/e-print/{REDIRECTS_HOME}", Answer(status=301, headers=home))
        self.serve(f"/e-print/{REDIRECTS_HOME}v2", Answer(body=attention_source()))
        return self

    def __enter__(self) -> FakeArxiv:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, fake: FakeArxiv) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read fake.requests

    def do_GET(self) -> None:  # http.server calls it by this name
        fake = self.server.fake
        fake.requests.append(self.path)
        answer = fake.answers.get(self.path, Answer(status=404, body=b"not found"))
        time.sleep(answer.delay)
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        try:
            if answer.chunked:
                self._send_chunked(answer)
            else:
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
        except OSError:
            pass  # the client hung up (a size limit, a timeout): that is the test

    def _send_chunked(self, answer: Answer) -> None:
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for start in range(0, len(answer.body), 16 * 1024):
            chunk = answer.body[start : start + 16 * 1024]
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")
