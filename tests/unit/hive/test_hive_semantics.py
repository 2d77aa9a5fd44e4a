"""Where Hive and DuckDB disagree, rayemr answers as Hive: one test per line of the table in
docs/hive.md ("Hive versus DuckDB"). Every expected value is Hive's documented behaviour (the
LanguageManual or the UDF's own source, named in each test), and every query runs through
rayemr.hive.connect(), so the real compile and DuckDB path answers.
"""
from __future__ import annotations

import datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import rayemr.hive

T = pa.table({
    "id": pa.array([1, 2, 3, 4, 5], pa.int32()),
    "i": pa.array([2147483647, -2147483648, 7, None, 0], pa.int32()),
    "b": pa.array([9223372036854775807, 1, -7, None, 0], pa.int64()),
    "s": ["10", " 12 ", "1.9", None, "abc"],
    "d": [2.675, 1.005, -2.5, None, 0.5],
    "k": ["a", "b", "a", "c", "b"],
    "v": pa.array([3, 1, 3, 2, 1], pa.int32()),
})


@pytest.fixture
def cur(tmp_path):
    (tmp_path / "t").mkdir()
    pq.write_table(T, tmp_path / "t" / "part-0.parquet")
    conn = rayemr.hive.connect(metastore_path=str(tmp_path / "ms.db"),
                               warehouse=str(tmp_path / "wh"), runner="inline",
                               configuration={"rayemr.hive.smalljob.maxbytes": "0"})
    c = conn.cursor()
    c.execute("CREATE EXTERNAL TABLE t (id int, i int, b bigint, s string, d double, k string, "
              f"v int) STORED AS PARQUET LOCATION '{tmp_path}/t'")
    yield c
    conn.close()


def one(cur, sql: str) -> tuple:
    cur.execute(sql)
    rows = cur.fetchall()
    assert len(rows) == 1, rows
    return rows[0]


def column(cur, sql: str) -> list:
    cur.execute(sql)
    return [r[0] for r in cur.fetchall()]


def types(cur) -> list[str]:
    return [d[1] for d in cur.description]


# -- arithmetic ---------------------------------------------------------------------------------

def test_integer_slash_is_double(cur):
    # LanguageManual UDF, A / B: "The result type is DOUBLE" for non-decimal operands
    assert one(cur, "SELECT 7 / 2, i / 2 FROM t WHERE id = 3") == (3.5, 3.5)
    assert types(cur) == ["DOUBLE_TYPE", "DOUBLE_TYPE"]


def test_div_truncates_to_bigint(cur):
    # A DIV B: the integer part of A / B (operands as BIGINT, Java division truncates)
    assert one(cur, "SELECT 7 DIV 2, -7 DIV 2, 7.9 DIV 2, '7' DIV 2, b DIV 2 FROM t "
                    "WHERE id = 3") == (3, -3, 3, 3, -3)
    assert set(types(cur)) == {"BIGINT_TYPE"}


def test_division_by_zero_is_null(cur):
    # GenericUDFOPDivide / GenericUDFOPMod return NULL for a zero divisor; DuckDB raises
    assert one(cur, "SELECT 1 / 0, i / 0, 5 % 0, d % 0, i DIV 0, 1.5 / 0 FROM t "
                    "WHERE id = 3") == (None,) * 6


def hive_types(cur) -> list[str]:
    return [c.hive_type for c in cur._result.columns]


def test_decimal_slash_is_decimal(cur):
    # GenericUDFOPDivide.deriveResultDecimalTypeInfo: scale max(6, s1 + p2 + 1), precision
    # p1 - s1 + s2 + scale (an INT operand is DECIMAL(10,0); the literal 1.0 DECIMAL(1,0)),
    # rounded half up (HiveDecimal.divide)
    got = one(cur, "SELECT 1.0 / 3, CAST(7 AS DECIMAL(5,2)) / CAST(2 AS DECIMAL(3,1)), "
                   "CAST(2 AS DECIMAL(1,0)) / CAST(3 AS DECIMAL(1,0)), "
                   "CAST(-2 AS DECIMAL(1,0)) / CAST(3 AS DECIMAL(1,0)), "
                   "CAST(1 AS DECIMAL(5,2)) / CAST(0 AS DECIMAL(5,2))")
    assert got == (Decimal("0.33333333333"), Decimal("3.500000"), Decimal("0.666667"),
                   Decimal("-0.666667"), None)
    assert [str(v) for v in got[:4]] == ["0.33333333333", "3.500000", "0.666667", "-0.666667"]
    assert hive_types(cur)[:4] == ["decimal(12,11)", "decimal(10,6)", "decimal(7,6)",
                                   "decimal(7,6)"]


def test_decimal_slash_caps_precision(cur):
    # adjustPrecScale: past 38 digits the precision is 38 and the scale gives way to the
    # integer digits, keeping at least min(scale, 6); a quotient too wide for it is NULL
    got = one(cur, "SELECT CAST(1 AS DECIMAL(38,0)) / CAST(3 AS DECIMAL(38,0)), "
                   "CAST(10 AS DECIMAL(20,2)) / CAST(4 AS DECIMAL(20,0)), "
                   "CAST('99999999999999999999999999999999' AS DECIMAL(32,0)) / 0.001")
    assert got == (Decimal("0.333333"), Decimal("2.5"), None)
    assert str(got[1]) == "2.50000000000000000000"
    assert hive_types(cur) == ["decimal(38,6)", "decimal(38,20)", "decimal(38,6)"]
    # sum() of a DECIMAL(p,s) is DECIMAL(p+10,s): union36.q's x / sum(x) over () has scale 21
    assert one(cur, "SELECT CAST(1 AS DECIMAL(10,0)) / sum(CAST(v AS DECIMAL(10,0))) "
                    "FROM t") == (Decimal("0.100000000000000000000"),)
    # a DOUBLE operand makes the quotient a DOUBLE; integers alone stay DOUBLE too
    assert one(cur, "SELECT 1.5 / 2D, 3 / 2") == (0.75, 1.5)
    assert types(cur) == ["DOUBLE_TYPE", "DOUBLE_TYPE"]


def test_decimal_literals_drop_trailing_zeros(cur):
    # HiveDecimal.create normalises a literal: 1.0 is DECIMAL(1,0) (udf_coalesce.q prints
    # COALESCE(1.0) as 1), 2.50 is DECIMAL(2,1); the value is unchanged
    got = one(cur, "SELECT 1.0, 2.50, -3.10, 0.0, 1.5")
    assert [str(v) for v in got] == ["1", "2.5", "-3.1", "0", "1.5"]
    assert hive_types(cur) == ["decimal(1,0)", "decimal(2,1)", "decimal(2,1)", "decimal(1,0)",
                               "decimal(2,1)"]
    # a BD literal past 38 digits is NULL (literal_decimal.q: 1E99BD)
    assert one(cur, "SELECT 3.14BD, 1E99BD") == (Decimal("3.14"), None)


def test_integer_overflow_wraps(cur):
    # Java int/long arithmetic: INT + INT is an INT that wraps; DuckDB raises
    assert one(cur, "SELECT i + 1, i * 2, b + 1 FROM t WHERE id = 1") == (
        -2147483648, -2, -9223372036854775808)
    assert types(cur) == ["INT_TYPE", "INT_TYPE", "BIGINT_TYPE"]
    assert one(cur, "SELECT i - 1 FROM t WHERE id = 2") == (2147483647,)
    assert one(cur, "SELECT CAST(127 AS TINYINT) + CAST(1 AS TINYINT)") == (-128,)


def test_round_half_up(cur):
    # RoundUtils.round: BigDecimal.valueOf(x).setScale(d, HALF_UP) for doubles and decimals
    assert column(cur, "SELECT round(d, 2) FROM t ORDER BY id") == [2.68, 1.01, -2.5, None, 0.5]
    assert column(cur, "SELECT round(d) FROM t ORDER BY id") == [3.0, 1.0, -3.0, None, 1.0]
    assert one(cur, "SELECT round(2.5), round(-2.5), round(0.125, 2), round(15, -1)") == (
        Decimal("3"), Decimal("-3"), Decimal("0.13"), 20)


def test_round_decimal_scale(cur):
    # GenericUDFRound: round(decimal, d) has scale max(d, 0); a negated literal stays DECIMAL
    got = one(cur, "SELECT round(125.315, 4), round(125.315, 1), round(-125.315), "
                   "round(-125.315, -1)")
    assert [str(v) for v in got] == ["125.3150", "125.3", "-125", "-130"]


def test_math_domain_is_null(cur):
    # UDFLn, UDFLog (a <= 0 or base <= 1), UDFSqrt (a < 0): NULL, where DuckDB gives
    # -inf, NaN or an error
    assert one(cur, "SELECT ln(0), ln(-1), log10(-1), log2(0), log(1, 8), log(2, -8), "
                    "sqrt(-1)") == (None,) * 7
    assert one(cur, "SELECT ln(1), log(2, 8), log10(100), sqrt(4)") == (0.0, 3.0, 2.0, 2.0)


def test_greatest_least_null(cur):
    # LanguageManual UDF: greatest/least return NULL when an argument is NULL (Hive >= 2.0)
    assert one(cur, "SELECT greatest(1, NULL, 3), least(i, 1), greatest(id, 2) FROM t "
                    "WHERE id = 4") == (None, None, 4)


# -- implicit conversions and casts -------------------------------------------------------------

def test_string_number_comparison(cur):
    # FunctionRegistry.getCommonClassForComparison: a string and a number compare as DOUBLE;
    # a string that is no number is NULL, so the comparison is NULL (DuckDB raises)
    assert one(cur, "SELECT '10' > 9, '1.0' = 1, 'abc' = 0, '5' BETWEEN 1 AND 10, "
                    "'3' IN (1, 3)") == (True, True, None, True, True)
    assert column(cur, "SELECT id FROM t WHERE s > 9 ORDER BY id") == [1, 2]
    assert column(cur, "SELECT id FROM t WHERE s = 1.9") == [3]


def test_sum_of_strings(cur):
    # GenericUDAFSum/Average: string values are summed as DOUBLE (DuckDB refuses sum(VARCHAR))
    assert one(cur, "SELECT sum(s), avg(substr(s, 1, 2)) FROM t WHERE id <= 3") == (
        23.9, (10 + 1 + 1) / 3)  # substr: "10", " 1", "1."


def test_common_type_of_strings_and_numbers(cur):
    # FunctionRegistry.getCommonClass: in IN lists and IF/CASE/COALESCE branches a string and
    # a number meet as STRING (DuckDB casts the string to the number's type, or raises)
    assert one(cur, "SELECT 'bee' IN ('aee', 'bee', 1), '3.0' IN (1, 3), IF(false, 1, 'ABC'), "
                    "CASE WHEN true THEN 'x' ELSE 2 END, coalesce(s, 7) FROM t WHERE id = 4"
               ) == (True, False, "ABC", "x", "7")


def test_string_functions_take_numbers(cur):
    # UDF arguments are converted: instr(123, '23'), split(50401020, 0), length(12345)
    assert one(cur, "SELECT instr(123, '23'), locate('23', 123), split(50401020, 0), "
                    "length(12345), upper(true), lpad(7, 3, 0)") == (
        2, 2, ["5", "4", "1", "2", ""], 5, "TRUE", "007")


def test_string_arithmetic(cur):
    # GenericUDFBaseNumeric: a string operand is converted to DOUBLE
    assert one(cur, "SELECT '1' + 1, 'a' + 1, s * 2 FROM t WHERE id = 1") == (2.0, None, 20.0)
    assert types(cur) == ["DOUBLE_TYPE"] * 3


def test_cast_string_to_integer(cur):
    # LazyInteger/LazyLong: blanks trimmed, a fraction ignored ('1.9' -> 1); anything else
    # NULL (no error); DuckDB rounds '1.9' to 2
    assert column(cur, "SELECT CAST(s AS INT) FROM t ORDER BY id") == [10, 12, 1, None, None]
    assert one(cur, "SELECT CAST('-1.9' AS BIGINT), CAST('12abc' AS INT), "
                    "CAST('99999999999' AS INT), CAST('abc' AS DOUBLE)") == (-1, None, None,
                                                                             None)


def test_text_table_integers(cur, tmp_path):
    # a text table's integer fields are read by the same LazyInteger rules: '1.9' is 1, while
    # exponents and hex (which DuckDB's cast accepts) are NULL
    data = tmp_path / "ints.txt"
    data.write_text("1.9,12\n1e5,0x10\n 7 ,-3.5\n")
    cur.execute("CREATE TABLE tx (a int, b bigint) ROW FORMAT DELIMITED FIELDS TERMINATED BY ','")
    cur.execute(f"LOAD DATA LOCAL INPATH '{data}' INTO TABLE tx")
    cur.execute("SELECT a, b FROM tx")
    assert cur.fetchall() == [(1, 12), (None, None), (7, -3)]


def test_cast_fraction_truncates(cur):
    # UDFToInteger(DoubleWritable): Java's (int) cast truncates toward zero; DuckDB rounds
    assert one(cur, "SELECT CAST(1.7 AS INT), CAST(-1.7 AS INT), CAST(1.7D AS BIGINT), "
                    "CAST(1.5BD AS INT)") == (1, -1, 1, 1)
    assert column(cur, "SELECT CAST(d AS INT) FROM t ORDER BY id") == [2, 1, -2, None, 0]


def test_cast_fraction_out_of_range_saturates(cur):
    # UDFToLong / UDFToInteger (DoubleWritable): Java's (long) d and (int) d saturate at the
    # type's range and make NaN 0; UDFToShort / UDFToByte: (short) d and (byte) d narrow
    # through int, keeping its low bits (Integer.MAX_VALUE as a byte is -1)
    assert one(cur, "SELECT CAST(1e20 AS BIGINT), CAST(1e20 AS INT), CAST(-1e20 AS BIGINT), "
                    "CAST(-1e20 AS INT), CAST(1e20 AS TINYINT), CAST(1e20 AS SMALLINT), "
                    "CAST(-1e20 AS TINYINT), CAST(300.7D AS TINYINT)") == (
        2**63 - 1, 2**31 - 1, -2**63, -2**31, -1, -1, 0, 44)
    assert one(cur, "SELECT CAST(CAST('NaN' AS DOUBLE) AS INT), "
                    "CAST(CAST('NaN' AS DOUBLE) AS BIGINT), "
                    "CAST(CAST('Infinity' AS DOUBLE) AS BIGINT), "
                    "CAST(CAST(1e10 AS FLOAT) AS INT), CAST(d * 1e30 AS BIGINT) "
                    "FROM t WHERE id = 3") == (0, 0, 2**63 - 1, 2**31 - 1, -2**63)
    # a DECIMAL out of range is NULL (UDFToLong(HiveDecimalWritable): not isLong())
    assert one(cur, "SELECT CAST(CAST('1e20' AS DECIMAL(38,0)) AS BIGINT)") == (None,)
    # INSERT converts the same way
    cur.execute("CREATE TABLE sat (a int, b bigint, c tinyint)")
    cur.execute("INSERT INTO sat SELECT 1e20, -1e20, 1e20")
    cur.execute("SELECT * FROM sat")
    assert cur.fetchall() == [(2**31 - 1, -2**63, -1)]


def test_cast_narrowing_integers_wraps(cur):
    # UDFToByte/UDFToShort/UDFToInteger of a wider integer: Java's (byte)/(short)/(int)
    # keep the low bits (udf_to_byte.q: CAST(CAST(-1025 AS BIGINT) AS TINYINT) = -1)
    assert one(cur, "SELECT CAST(CAST(-1025 AS BIGINT) AS TINYINT), CAST(128 AS TINYINT), "
                    "CAST(CAST(70000 AS INT) AS SMALLINT), CAST(2147483648 AS INT), "
                    "CAST(CAST(NULL AS BIGINT) AS TINYINT)") == (-1, -128, 4464, -2**31, None)


def test_timestamp_difference_as_text(cur):
    # TIMESTAMP - TIMESTAMP is an INTERVAL DAY TO SECOND, written [-]days HH:mm:ss.nnnnnnnnn
    # (HiveIntervalDayTime.toString; udf_to_string.q)
    assert one(cur, "SELECT CAST(timestamp '2018-05-02 15:30:30.5' - "
                    "timestamp '1970-01-30 16:00:00' AS STRING), "
                    "CAST(timestamp '1970-01-01 00:00:00' - timestamp '1970-01-02 01:02:03.25' "
                    "AS STRING)") == ("17623 23:30:30.500000000", "-1 01:02:03.250000000")


def test_year_month_interval_as_text(cur):
    # interval_year_month('y-m') is an INTERVAL YEAR TO MONTH, written [-]years-months
    # (HiveIntervalYearMonth.toString; udf_to_string.q); months past 11 or no number: NULL
    assert one(cur, "SELECT CAST(interval_year_month('1-2') AS STRING), "
                    "CAST(interval_year_month('-10-11') AS STRING), "
                    "CAST(INTERVAL '3-0' YEAR TO MONTH AS STRING), "
                    "CAST(interval_year_month('1-12') AS STRING), "
                    "CAST(interval_year_month('x') AS STRING)") == (
        "1-2", "-10-11", "3-0", None, None)
    # returned as Hive's clients read an interval: its text (a DuckDB interval would reach
    # Python as a timedelta of 30-day months)
    assert one(cur, "SELECT interval_year_month('1-2') AS ym, timestamp '2018-05-02 15:30:30' "
                    "- timestamp '1970-01-30 16:00:00' AS dt") == (
        "1-2", "17623 23:30:30.000000000")
    assert [d[1] for d in cur.description] == ["INTERVAL_YEAR_MONTH_TYPE",
                                               "INTERVAL_DAY_TIME_TYPE"]


def test_double_as_text_is_javas(cur, tmp_path):
    # Double.toString / Float.toString (PrimitiveObjectInspectorConverter.StringConverter,
    # LazyUtils.writePrimitiveUTF8): decimal notation for 1e-3 <= |x| < 1e7, else d.dddE<n>
    assert one(cur, "SELECT CAST(CAST(1e20 AS DOUBLE) AS STRING), CAST(1e-5 AS STRING), "
                    "CAST(CAST(100 AS DOUBLE) AS STRING), CAST(CAST(0.001 AS DOUBLE) AS STRING), "
                    "CAST(12345678.9D AS STRING), CAST(CAST('NaN' AS DOUBLE) AS STRING), "
                    "CAST(CAST('-Infinity' AS DOUBLE) AS STRING), "
                    "CAST(CAST(-3.14 AS FLOAT) AS STRING), CAST(CAST(1e10 AS FLOAT) AS STRING)"
               ) == ("1.0E20", "1.0E-5", "100.0", "0.001", "1.23456789E7", "NaN", "-Infinity",
                     "-3.14", "1.0E10")
    # concat, string functions, the common type of IF branches, INSERT into a STRING column
    assert one(cur, "SELECT concat(1e20D, ''), concat(d, ''), concat(1e-4D, true), "
                    "length(1e20D), IF(false, 'x', 1e7D) FROM t WHERE id = 1") == (
        "1.0E20", "2.675", "1.0E-4TRUE", 6, "1.0E7")
    cur.execute("CREATE TABLE txt (s string, x double, y float) STORED AS TEXTFILE")
    cur.execute("INSERT INTO txt SELECT 1e20D, 1e-5D, CAST(100 AS FLOAT)")
    cur.execute("SELECT * FROM txt")
    assert cur.fetchall() == [("1.0E20", 1e-5, 100.0)]
    files = [f for f in (tmp_path / "wh").rglob("*") if f.is_file()
             and f.parent.name == "txt" and not f.name.startswith(("_", "."))]
    assert [f.read_bytes() for f in files] == [b"1.0E20\x011.0E-5\x01100.0\n"]
    # inside maps and structs too
    cur.execute("CREATE TABLE nested (m map<string,double>, st struct<a:double,b:float>) "
                "STORED AS TEXTFILE")
    cur.execute("INSERT INTO nested SELECT map('k', 1e20D), named_struct('a', 1e-5D, 'b', "
                "CAST(2 AS FLOAT))")
    files = [f for f in (tmp_path / "wh").rglob("*") if f.is_file()
             and f.parent.name == "nested" and not f.name.startswith(("_", "."))]
    assert [f.read_bytes() for f in files] == [b"k\x031.0E20\x011.0E-5\x022.0\n"]


def test_insert_converts_as_hive(cur):
    # INSERT converts a query's values to the target columns' types by the same rules
    # (cast1.q: CAST(1 AS BOOLEAN) into a STRING column is 'TRUE')
    cur.execute("CREATE TABLE conv (a int, b string, c boolean, d bigint)")
    cur.execute("INSERT INTO conv SELECT '1.9', 1 = 1, 'off', -3.7D")
    cur.execute("SELECT * FROM conv")
    assert cur.fetchall() == [(1, "TRUE", False, -3)]


def test_integer_to_timestamp(cur):
    # hive.int.timestamp.conversion.in.seconds (default false): integers are milliseconds,
    # fractional numbers seconds
    epoch = datetime.datetime(1970, 1, 1)
    assert one(cur, "SELECT CAST(1000 AS TIMESTAMP), CAST(1.5 AS TIMESTAMP), "
                    "CAST(v AS TIMESTAMP) FROM t WHERE id = 1") == (
        epoch + datetime.timedelta(seconds=1), epoch + datetime.timedelta(seconds=1.5),
        epoch + datetime.timedelta(milliseconds=3))
    cur.execute("SET hive.int.timestamp.conversion.in.seconds=true")
    assert one(cur, "SELECT CAST(1000 AS TIMESTAMP), CAST(v AS TIMESTAMP) FROM t "
                    "WHERE id = 1") == (epoch + datetime.timedelta(seconds=1000),
                                        epoch + datetime.timedelta(seconds=3))


def test_timestamp_to_number(cur):
    # a TIMESTAMP as a number is seconds since the epoch (DuckDB refuses the cast)
    assert one(cur, "SELECT CAST(CAST('2020-01-01 00:00:01.5' AS TIMESTAMP) AS BIGINT), "
                    "CAST(CAST('2020-01-01 00:00:01.5' AS TIMESTAMP) AS DOUBLE)") == (
        1577836801, 1577836801.5)


def test_timestamp_to_boolean(cur):
    # a TIMESTAMP is true unless it is the epoch itself
    assert one(cur, "SELECT CAST(CAST(0 AS TIMESTAMP) AS BOOLEAN), "
                    "CAST(CAST('2011-05-06 07:08:09' AS TIMESTAMP) AS BOOLEAN)") == (False, True)


def test_boolean_casts(cur):
    # TextConverter writes TRUE/FALSE; GenericUDFToBoolean: '', 'false', 'no', 'zero', 'off'
    # are false, other strings true (DuckDB: 'true' and NULL otherwise)
    assert one(cur, "SELECT CAST(true AS STRING), CAST(1 = 2 AS STRING)") == ("TRUE", "FALSE")
    assert one(cur, "SELECT CAST('' AS BOOLEAN), CAST('false' AS BOOLEAN), "
                    "CAST('OFF' AS BOOLEAN), CAST('x' AS BOOLEAN), CAST('true' AS BOOLEAN)"
               ) == (False, False, False, True, True)


# -- strings ------------------------------------------------------------------------------------

def test_substr_positions(cur):
    # UDFSubstr: pos 0 is 1, negative pos counts from the end, out of range or len <= 0 is ''
    assert one(cur, "SELECT substr('hello', 0, 2), substr('hello', -3), "
                    "substr('hello', -3, 2), substr('hello', -10), substr('hello', 2, -1), "
                    "substr('hello', 10), substr('hello', 2, 2)") == (
        "he", "llo", "ll", "", "", "", "el")
    assert column(cur, "SELECT substr(k, -1) FROM t ORDER BY id") == ["a", "b", "a", "c", "b"]


def test_substr_of_binary(cur):
    # UDFSubstr on BINARY: the same positions over bytes (DuckDB has no SUBSTRING of a BLOB)
    assert one(cur, "SELECT substr(CAST('ABC' AS BINARY), 2), "
                    "substr(CAST('ABC' AS BINARY), -2, 1), substr(CAST('ABC' AS BINARY), 5), "
                    "substr(CAST('ABC' AS BINARY), 0, 2147483647)") == (
        b"BC", b"B", b"", b"ABC")


def test_concat_null(cur):
    # concat: NULL if any argument is NULL; concat_ws skips NULLs
    assert one(cur, "SELECT concat('a', NULL), concat('a', s), concat_ws(',', 'a', NULL, 'b') "
                    "FROM t WHERE id = 4") == (None, None, "a,b")


def test_like_escapes(cur):
    # UDFLike: '\\_' and '\\%' are a literal _ and %; any other backslash is itself;
    # case-sensitive. DuckDB has no escape character unless told.
    assert one(cur, r"SELECT '50%' LIKE '50\\%', 'a_b' LIKE 'a\\_b', 'axb' LIKE 'a\\_b', "
                    r"'a\\b' LIKE 'a\\b%', 'ABC' LIKE 'a%', 'abc' LIKE 'a%'") == (
        True, True, False, True, False, True)


def test_rlike_finds_substring(cur):
    # A RLIKE B: true if any substring of A matches the Java regular expression B
    assert one(cur, "SELECT 'foobar' RLIKE 'oob', 'foobar' RLIKE '^f.*r$', "
                    "'foobar' REGEXP '^oob'") == (True, True, False)


def test_regexp_replace_groups(cur):
    # regexp_replace follows java.util.regex.Matcher.replaceAll: $n is group n, \\$ a '$'
    assert one(cur, r"SELECT regexp_replace('abc', '(b)', '$1$1'), "
                    r"regexp_replace('a.b', '[.]', '\\$'), regexp_replace('aaa', 'a', 'b')"
               ) == ("abbc", "a$b", "bbb")


def test_split_is_regex(cur):
    # split(str, regex) splits on a Java regular expression, trailing empty strings kept
    assert one(cur, "SELECT split('a1b22c', '[0-9]+'), split('a,b,', ',')") == (
        ["a", "b", "c"], ["a", "b", ""])


def test_elt_find_in_set_unhex(cur):
    # elt: NULL out of range; find_in_set: 0 when absent or when the string has a comma;
    # unhex of non-hexadecimal text: NULL (DuckDB raises)
    assert one(cur, "SELECT elt(2, 'abc', 'defg'), elt(3, 'aa', 'bb'), elt('1', 'abc', 'defg'), "
                    "find_in_set('ab', 'abc,ab,bbb'), find_in_set('a,', 'a,b'), "
                    "find_in_set('', 'a,,b'), unhex('MySQL'), unhex('4D7953514C'), "
                    "unhex('F')") == ("defg", None, "abc", 2, 0, 2, None, b"MySQL", b"\x0f")


def test_hash_is_javas(cur):
    # ObjectInspectorUtils.hashCode / GenericUDFHash (udf_hash.q's answers): an INT,
    # r = 31 * r + hashCode(arg); strings over their UTF-8 bytes, BIGINT and DOUBLE as
    # Long.hashCode of the value / of its bits. DuckDB's hash() is another function.
    assert one(cur, "SELECT hash(CAST(1 AS TINYINT)), hash(CAST(2 AS SMALLINT)), hash(3), "
                    "hash(CAST('123456789012' AS BIGINT)), hash(CAST(1.25 AS FLOAT)), "
                    "hash(CAST(16.0 AS DOUBLE)), hash('400'), hash('abc'), hash(TRUE), "
                    "hash(FALSE), hash(1, 2, 3)") == (
        1, 2, 3, -1097262584, 1067450368, 1076887552, 51508, 96354, 1, 0, 1026)
    assert column(cur, "SELECT hash(k, v) FROM t ORDER BY id") == [
        31 * ord(k) + v for k, v in zip(T["k"].to_pylist(), T["v"].to_pylist())]


def test_builtins_duckdb_lacks(cur):
    # Hive built-ins DuckDB has not under their Hive names (LanguageManual UDF)
    assert one(cur, "SELECT e(), isnull(NULL), isnotnull(1), positive(-2), regexp('abc', 'b'), "
                    "rlike('abc', '^b'), std(x), format_number(1234567.891, 2) FROM "
                    "(SELECT explode(array('1', '3')) AS x) e") == (
        2.718281828459045, True, True, -2, True, False, 1.0, "1,234,567.89")
    url = "http://user@facebook.com:80/path1/p.php?k1=v1&k2=v2#Ref1"
    assert one(cur, f"SELECT parse_url('{url}', 'HOST'), parse_url('{url}', 'PATH'), "
                    f"parse_url('{url}', 'QUERY'), parse_url('{url}', 'QUERY', 'k2'), "
                    f"parse_url('{url}', 'REF'), parse_url('{url}', 'PROTOCOL'), "
                    f"parse_url('{url}', 'AUTHORITY'), parse_url('{url}', 'USERINFO'), "
                    f"parse_url('{url}', 'FILE'), parse_url('http://a.com/p', 'QUERY')") == (
        "facebook.com", "/path1/p.php", "k1=v1&k2=v2", "v2", "Ref1", "http",
        "user@facebook.com:80", "user", "/path1/p.php?k1=v1&k2=v2", None)


# -- collections --------------------------------------------------------------------------------

def test_size(cur):
    # GenericUDFSize: -1 for NULL, the number of entries of a map, INT
    assert one(cur, "SELECT size(NULL), size(array()), size(map(1, 2, 3, 4)), "
                    "size(array(1, 2)), size(split(s, ',')) FROM t WHERE id = 4") == (
        -1, 0, 2, 2, -1)
    assert set(types(cur)) == {"INT_TYPE"}


def test_collect_set_first_arrival_order(cur):
    # GenericUDAFMkCollectionEvaluator keeps collect_set's values in a LinkedHashSet: the
    # order they first arrive, not sorted, not hashed
    assert one(cur, "SELECT collect_set(x) FROM (SELECT explode(array(3, 1, 3, 2, 1, 5, 4)) "
                    "AS x) e") == ([3, 1, 2, 5, 4],)
    assert column(cur, "SELECT collect_set(v) FROM t") == [[3, 1, 2]]


def test_tablesample_rows(cur):
    # TABLESAMPLE (n ROWS): n rows of each split, taken before the WHERE clause
    assert column(cur, "SELECT id FROM t TABLESAMPLE (2 ROWS)") == [1, 2]
    assert column(cur, "SELECT id FROM t TABLESAMPLE (3 ROWS) WHERE id > 1") == [2, 3]


# -- ordering -----------------------------------------------------------------------------------

def test_null_ordering(cur):
    # LanguageManual SortBy: NULLs come first in ascending order and last in descending
    # order (DuckDB puts them last either way)
    assert column(cur, "SELECT i FROM t ORDER BY i") == [None, -2147483648, 0, 7, 2147483647]
    assert column(cur, "SELECT i FROM t ORDER BY i DESC") == [2147483647, 7, 0, -2147483648,
                                                              None]
    assert column(cur, "SELECT row_number() OVER (ORDER BY i) FROM t WHERE i IS NULL") == [1]
    assert one(cur, "SELECT sort_array(array(3, NULL, 1))") == ([None, 1, 3],)


def test_null_ordering_in_distributed_sort(cur, tmp_path):
    # the same rule when ORDER BY is a range-partitioned sort over several splits
    (tmp_path / "u").mkdir()
    for n in range(3):
        pq.write_table(pa.table({"x": pa.array([None, 5 - n, 10 * n], pa.int32())}),
                       tmp_path / "u" / f"part-{n}.parquet")
    cur.execute(f"CREATE EXTERNAL TABLE u (x int) STORED AS PARQUET LOCATION '{tmp_path}/u'")
    cur.execute("SET mapreduce.job.reduces=2")
    assert column(cur, "SELECT x FROM u ORDER BY x") == [None] * 3 + [0, 3, 4, 5, 10, 20]
    assert column(cur, "SELECT x FROM u ORDER BY x DESC") == [20, 10, 5, 4, 3, 0] + [None] * 3


# -- dates and times ----------------------------------------------------------------------------

def test_date_functions_take_strings(cur):
    # year(), month(), hour(), datediff()... take 'yyyy-MM-dd[ HH:mm:ss]' strings, give NULL
    # for malformed ones and return INT
    assert one(cur, "SELECT year('2024-01-07 10:00:00'), month('2024-05-01'), "
                    "hour('2024-01-07 13:04:05'), year('garbage'), "
                    "datediff('2024-03-01', '2024-02-01 10:00:00')") == (2024, 5, 13, None, 29)
    assert set(types(cur)) == {"INT_TYPE"}


def test_dayofweek_sunday_is_one(cur):
    # dayofweek: 1 = Sunday ... 7 = Saturday (DuckDB: 0 = Sunday)
    assert one(cur, "SELECT dayofweek('2024-01-07'), dayofweek(CAST('2024-01-13' AS DATE))"
               ) == (1, 7)


def test_date_format_patterns(cur):
    # date_format / from_unixtime take java.text.SimpleDateFormat patterns
    assert one(cur, "SELECT date_format('2024-01-07 13:04:05', 'yyyy/MM/dd HH:mm:ss EEE'), "
                    "from_unixtime(90061, 'yyyy-MM-dd HH')") == (
        "2024/01/07 13:04:05 Sun", "1970-01-02 01")


def test_local_time_zone(cur):
    # from_unixtime / unix_timestamp work in hive.local.time.zone (LOCAL: the JVM's zone)
    cur.execute("SET hive.local.time.zone=America/New_York")
    assert one(cur, "SELECT from_unixtime(0), unix_timestamp('1970-01-01 00:00:00'), "
                    "unix_timestamp('junk')") == ("1969-12-31 19:00:00", 18000, None)
    cur.execute("SET hive.local.time.zone=UTC")
    assert one(cur, "SELECT from_unixtime(0), unix_timestamp('1970-01-01 00:00:10')") == (
        "1970-01-01 00:00:00", 10)


def test_utc_conversions(cur):
    # from_utc_timestamp shows a UTC time in a zone; to_utc_timestamp the reverse
    assert one(cur, "SELECT from_utc_timestamp('2024-01-07 13:04:05', 'America/New_York'), "
                    "to_utc_timestamp('2024-01-07 13:04:05', 'America/New_York')") == (
        datetime.datetime(2024, 1, 7, 8, 4, 5), datetime.datetime(2024, 1, 7, 18, 4, 5))
