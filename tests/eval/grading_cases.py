r"""A table of (kind, gold, answer, thinking, expected verdict) in the style of real reasoning models.

``answer`` is the text after the end of thinking; ``thinking`` is used only when the answer part gives
nothing. Written by hand; each expectation is what a careful human grader would say.
"""

# fmt: off
CASES: list[tuple[str, str, str, str, bool]] = [
    # ---- math: boxed, plain values
    ("math", "5", r"The answer is $\boxed{5}$.", "", True),
    ("math", "5", r"Thus $x = \boxed{5}$", "", True),
    ("math", "5", r"$\boxed{6}$", "", False),
    ("math", "-3", r"Therefore the minimum value is $\boxed{-3}$.", "", True),
    ("math", "-3", r"Therefore the minimum value is $\boxed{3}$.", "", False),
    ("math", "0", r"**Final Answer**\n\[\boxed{0}\]", "", True),
    ("math", "12", "Final Answer: 12", "", True),
    ("math", "12", "Final Answer: The final answer is 12. I hope it is correct.", "", True),
    ("math", "12", "Final Answer: $12$", "", True),
    ("math", "12", "**Final Answer:** 12", "", True),
    ("math", "1000", r"Final Answer: $\boxed{1,000}$", "", True),
    ("math", "1000", r"$\boxed{1000.0}$", "", True),
    ("math", "2.5", r"$\boxed{2.50}$", "", True),
    ("math", "0.5", r"$\boxed{\frac{1}{2}}$", "", True),
    ("math", r"\frac{1}{2}", r"$\boxed{0.5}$", "", True),
    ("math", r"\frac{1}{2}", r"$\boxed{\dfrac12}$", "", True),
    ("math", r"\frac{1}{2}", r"$\boxed{1/2}$", "", True),
    ("math", r"\frac{1}{2}", r"$\boxed{\tfrac{1}{2}}$", "", True),
    ("math", r"\frac{1}{3}", r"$\boxed{0.33}$", "", False),
    ("math", r"\frac{14}{3}", r"$\boxed{4\frac{2}{3}}$", "", True),
    ("math", r"\frac{2}{3}", r"$\boxed{\frac{3}{2}}$", "", False),
    ("math", r"\frac{\sqrt{3}}{2}", r"$\boxed{\frac{1}{2}\sqrt{3}}$", "", True),
    ("math", r"3\sqrt{2}", r"$\boxed{\sqrt{18}}$", "", True),
    ("math", r"3\sqrt{2}", r"$\boxed{2\sqrt{3}}$", "", False),
    ("math", r"2\sqrt{5}", r"Final Answer: $2 \sqrt 5$", "", True),
    ("math", r"\pi", r"$\boxed{\pi}$", "", True),
    ("math", r"2\pi", r"The period is $\boxed{2 \pi}$.", "", True),
    ("math", r"\frac{\pi}{4}", r"$\boxed{45^\circ}$", "", False),  # degrees vs radians: not the same answer
    ("math", "30", r"$\boxed{30^\circ}$", "", True),
    ("math", "30", r"The angle is $\boxed{30^{\circ}}$.", "", True),
    # ---- math: units and text
    ("math", "10", r"The side is $\boxed{10 \text{ cm}}$.", "", True),
    ("math", "10", r"$\boxed{10\text{ inches}}$", "", True),
    ("math", "10", r"Final Answer: 10 cm", "", True),
    ("math", "18.90", r"She pays $\boxed{\$18.90}$.", "", True),
    ("math", "18.90", r"$\boxed{18.9}$", "", True),
    ("math", r"\text{Evelyn}", r"$\boxed{\text{Evelyn}}$", "", True),
    ("math", r"\text{Evelyn}", r"$\boxed{\text{Bob}}$", "", False),
    ("math", r"\text{(C)}", r"$\boxed{\text{(C)}}$", "", True),
    ("math", "50\\%", r"$\boxed{50\%}$", "", True),
    # ---- math: expressions, equations, intervals, tuples, sets
    ("math", "x^2+2x", r"$\boxed{2x + x^2}$", "", True),
    ("math", "x^2+2x", r"$\boxed{x^2 + 3x}$", "", False),
    ("math", "(x-1)(x+1)", r"$\boxed{x^2-1}$", "", True),
    ("math", "y = 2x + 3", r"The line is $\boxed{y = 2x + 3}$.", "", True),
    ("math", "2x + 3", r"The line is $\boxed{y = 2x+3}$.", "", True),
    ("math", "[2,5)", r"$\boxed{[2, 5)}$", "", True),
    ("math", "[2,5)", r"$\boxed{(2, 5]}$", "", False),
    ("math", r"(-\infty, 3]", r"$\boxed{(-\infty,3]}$", "", True),
    ("math", r"(-\infty, 3]", r"$\boxed{x \le 3}$", "", True),
    ("math", r"(-\infty,-2)\cup(2,\infty)", r"$\boxed{(-\infty, -2) \cup (2, \infty)}$", "", True),
    ("math", r"\left( 3, \frac{\pi}{2} \right)", r"$\boxed{(3, \frac{\pi}{2})}$", "", True),
    ("math", r"\left( 3, \frac{\pi}{2} \right)", r"$\boxed{(3, \pi)}$", "", False),
    ("math", "(1,2)", r"$\boxed{(2,1)}$", "", False),
    ("math", r"\{1, 2, 3\}", r"$\boxed{\{3, 2, 1\}}$", "", True),
    ("math", "1, 2, 3", r"$\boxed{3, 2, 1}$", "", True),
    ("math", "-2, 5", r"The roots are $\boxed{-2, 5}$.", "", True),
    ("math", "-2, 5", r"The roots are $\boxed{-2}$ and $\boxed{5}$.", "", False),  # last box only
    ("math", r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", r"$\boxed{\begin{pmatrix} 1 \\ 2 \end{pmatrix}}$", "", True),
    ("math", r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", r"$\boxed{\begin{pmatrix} 2 \\ 1 \end{pmatrix}}$", "", False),
    ("math", "6 + 9i", r"$\boxed{6+9i}$", "", True),
    ("math", r"\sqrt{2}", r"$\boxed{1.41421356}$", "", True),
    ("math", r"\sqrt{2}", r"$\boxed{1.4}$", "", False),
    # ---- math: multiple boxes (last one wins), nesting, odd formatting
    ("math", "7", r"First I thought $\boxed{5}$ but correcting: $\boxed{7}$.", "", True),
    ("math", "5", r"First I thought $\boxed{5}$ but correcting: $\boxed{7}$.", "", False),
    ("math", r"\frac{3}{4}", r"$\boxed{\frac{3}{4}}$ and so on, giving \boxed{\dfrac{3}{4}}", "", True),
    ("math", "4", r"\boxed 4", "", True),
    ("math", "4", r"\fbox{4}", "", True),
    ("math", r"\frac{a}{b}", r"$\boxed{\frac{a}{b}}$", "", True),
    ("math", "8", r"$$\boxed{\boxed{8}}$$", "", True),
    ("math", "8", r"$\boxed{8", "", False),  # unbalanced braces: nothing extracted
    ("math", "8", "I think it's 8 but I'm not sure.", "", False),  # no box, no "Answer:"
    ("math", "8", "", "", False),
    # ---- math: answer only in the thinking (fallback), or answer part overrides thinking
    ("math", "8", "", r"so the total is $\boxed{8}$. Wait, let me double check... yes 8.", True),
    ("math", "8", "Final Answer:", r"adding up we get \boxed{8}", True),
    ("math", "8", "", r"maybe $\boxed{8}$? No: it is $\boxed{9}$.", False),
    ("math", "8", r"$\boxed{9}$", r"so it is $\boxed{8}$", False),
    ("math", "8", r"$\boxed{8}$", r"so it is $\boxed{9}$", True),
    ("math", "8", "", "the answer is 8", False),  # fallback only takes boxed answers from thinking
    # ---- math: hostile or garbage
    ("math", "3", r"$\boxed{\frac{1}{0}}$", "", False),
    ("math", "3", r"$\boxed{__import__('os').system('echo pwned')}$", "", False),
    ("math", "3", r"$\boxed{}$", "", False),
    ("math", "3", "Answer: " + "(" * 300 + "3", "", False),
    ("math", "3", r"$\boxed{" + "3" * 2000 + "}$", "", False),
    # ---- aime: integer normalisation
    ("aime", "25", r"$\boxed{025}$", "", True),
    ("aime", "25", r"$\boxed{25}$", "", True),
    ("aime", "25", r"$\boxed{250}$", "", False),
    ("aime", "25", "Final Answer: 025", "", True),
    ("aime", "204", r"Thus the walk takes $\boxed{204}$ minutes.", "", True),
    ("aime", "204", r"$\boxed{204 \text{ minutes}}$", "", True),
    ("aime", "204", r"$\boxed{204.0}$", "", True),
    ("aime", "204", r"$\boxed{203}$", "", False),
    ("aime", "70", r"$\boxed{\frac{140}{2}}$", "", True),
    ("aime", "70", r"**Answer:** $70$", "", True),
    ("aime", "0", r"$\boxed{000}$", "", True),
    ("aime", "113", "", r"so $m+n = \boxed{113}$", True),
    ("aime", "113", r"$\boxed{113.5}$", "", False),
    ("aime", "113", "The answer is 113", "", True),
    ("aime", "588", r"$\boxed{5, 8, 8}$", "", False),
    # ---- gpqa: strict letters in many phrasings
    ("gpqa", "C", r"$\boxed{C}$", "", True),
    ("gpqa", "C", r"\boxed{\text{C}}", "", True),
    ("gpqa", "C", r"\boxed{(C)}", "", True),
    ("gpqa", "C", r"\boxed{C) 4.5 eV}", "", True),
    ("gpqa", "C", r"$\boxed{\textbf{(C)}}$", "", True),
    ("gpqa", "C", "Answer: C", "", True),
    ("gpqa", "C", "Answer: (C)", "", True),
    ("gpqa", "C", "**Answer:** C", "", True),
    ("gpqa", "C", "The correct answer is (C).", "", True),
    ("gpqa", "C", "The answer is C) 4.5 eV", "", True),
    ("gpqa", "C", "C", "", True),
    ("gpqa", "C", "(C)", "", True),
    ("gpqa", "C", "**C**", "", True),
    ("gpqa", "C", "C) 4.5 eV", "", True),
    ("gpqa", "C", "Answer: D", "", False),
    ("gpqa", "C", r"$\boxed{D}$", "", False),
    ("gpqa", "C", r"\boxed{A or C}", "", False),  # hedging is wrong
    ("gpqa", "C", r"\boxed{4.5 eV}", "", False),  # the value, not the letter
    ("gpqa", "C", "Comparing the options, C looks plausible but A too.", "", False),  # no clear letter
    ("gpqa", "C", "Answer: B\n\nHmm, on reflection the answer is C.", "", True),  # the last statement counts
    ("gpqa", "C", "The answer is C.\nAnswer: A", "", False),
    ("gpqa", "A", "Answer: A", "", True),
    ("gpqa", "A", "A", "", True),
    ("gpqa", "B", "answer: b", "", True),
    ("gpqa", "B", "", r"so option B, i.e. \boxed{B}", True),
    ("gpqa", "B", "", "I would go with B", False),
    ("gpqa", "D", "The answer is D-glucose", "", False),  # a word starting with D is not the letter D
    ("gpqa", "A", "Answer: All of the above", "", False),
    ("gpqa", "D", r"Final Answer: $\boxed{D}$", "", True),
]
# fmt: on
