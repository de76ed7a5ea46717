"""Tests of the in-house FileCheck (tests/filecheck.py) itself. The pass
tests trust it to fail when printed IR is wrong, so every directive is shown
both passing and, more importantly, failing when it must."""
import pytest

from tests.filecheck import filecheck

IR = """\
graph f(%x: f32[4], %y: f32[4]) {
  %0: f32[4] = exp(%x)                                   # model.py:3 in f
  %1: f32[4] = add(%0, %y)                               # model.py:4 in f
  %2: f32[4] = mul(%1, %1)                               # model.py:5 in f
  return out0=%2
}
"""


def must_fail(checks, output=IR, match=None):
    with pytest.raises(AssertionError, match=match) as info:
        filecheck(output, checks)
    return str(info.value)


def test_check_finds_lines_in_order():
    filecheck(IR, """
        CHECK: graph f(
        CHECK: exp(%x)
        CHECK: return out0=%2
    """)


def test_check_out_of_order_fails():
    must_fail("CHECK: add(\nCHECK: exp(", match="exp")


def test_check_for_absent_text_fails():
    must_fail("CHECK: sigmoid(", match="no matching line")


def test_each_match_consumes_its_line():
    # One line cannot satisfy two CHECKs: the second must find a later line.
    must_fail("CHECK: %0: f32[4]\nCHECK: exp(%x)")


def test_check_next_passes_on_the_adjacent_line():
    filecheck(IR, "CHECK: exp(%x)\nCHECK-NEXT: add(%0, %y)\nCHECK-NEXT: mul(")


def test_check_next_fails_when_a_line_is_skipped():
    message = must_fail("CHECK: exp(%x)\nCHECK-NEXT: mul(")
    assert "right after output line 2" in message and "add(%0, %y)" in message


def test_check_next_fails_at_the_end_of_output():
    must_fail("CHECK: }\nCHECK-NEXT: anything", match="ends")


def test_check_next_without_a_previous_check_is_an_error():
    must_fail("CHECK-NEXT: graph", match="needs a CHECK before it")


def test_check_not_passes_when_text_is_absent_in_range():
    # `exp(` exists, but before the range between the two matches.
    filecheck(IR, "CHECK: add(\nCHECK-NOT: exp(\nCHECK: return")


def test_check_not_fails_when_text_is_in_range():
    message = must_fail("CHECK: graph\nCHECK-NOT: add(\nCHECK: return")
    assert "CHECK-NOT: add(" in message and "output line 3" in message


def test_check_not_at_start_covers_from_the_beginning():
    must_fail("CHECK-NOT: graph f\nCHECK: exp(")
    filecheck(IR, "CHECK-NOT: sigmoid\nCHECK: exp(")


def test_check_not_at_end_covers_to_the_end():
    must_fail("CHECK: exp(\nCHECK-NOT: return")
    filecheck(IR, "CHECK: add(\nCHECK-NOT: exp(")


def test_capture_defines_and_reuses_a_name():
    filecheck(IR, r"""
        CHECK: [[E:%\d+]]: f32[4] = exp(%x)
        CHECK: [[S:%\d+]]: f32[4] = add([[E]], %y)
        CHECK: mul([[S]], [[S]])
        CHECK: return out0={{%\d+}}
    """)


def test_captured_name_must_match_exactly():
    # %0 is captured; the add reads %0, the mul reads %1: using [[E]] there fails.
    must_fail(r"CHECK: [[E:%\d+]]: f32[4] = exp(%x)" "\nCHECK: mul([[E]], [[E]])", match="mul")


def test_capture_reused_within_one_pattern():
    filecheck(IR, r"CHECK: mul([[A:%\d+]], [[A]])")
    must_fail(r"CHECK: add([[A:%\w+]], [[A]])")


def test_using_an_undefined_capture_is_an_error():
    must_fail("CHECK: add([[NOPE]], %y)", match=r"\[\[NOPE\]\] is used before")


def test_check_not_cannot_define_captures():
    must_fail(r"CHECK-NOT: [[X:%\d+]] = sigmoid", match="cannot define")


def test_capture_from_a_later_line_can_be_redefined():
    filecheck(IR, r"CHECK: [[V:%\d+]]: f32[4] = exp" "\nCHECK: [[V:%\\d+]]: f32[4] = add" "\nCHECK: mul([[V]],")


def test_literal_text_is_not_a_regex():
    filecheck(IR, "CHECK: f32[4] = exp(%x)")  # [ ] ( ) are literal
    must_fail("CHECK: f32.4. = exp")


def test_whitespace_runs_match_any_whitespace_run():
    filecheck(IR, "CHECK: exp(%x) # model.py:3 in f")  # the printer pads before '#'
    must_fail("CHECK: exp(%x)#")


def test_failure_message_shows_output_and_failed_check():
    message = must_fail("CHECK: graph f\n// a comment line\nCHECK: sigmoid(%x)")
    assert "check line 3 `CHECK: sigmoid(%x)`" in message
    assert "exp(%x)" in message and "return out0=%2" in message  # the output is shown


def test_directives_may_be_prefixed_by_comment_markers():
    filecheck(IR, "// CHECK: exp(\n# CHECK-NEXT: add(")


def test_checks_without_directives_are_rejected():
    must_fail("exp(%x)", match="no CHECK")


def test_empty_output_fails_a_positive_check():
    must_fail("CHECK: graph", output="")
