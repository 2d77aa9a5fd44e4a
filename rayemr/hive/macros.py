"""DuckDB macros that carry Hive's semantics where DuckDB's own functions differ.

The compiler (:mod:`rayemr.hive.sql.semantics`, :mod:`rayemr.hive.sql.dialect`) rewrites a
Hive call into one of these when the Hive meaning needs an argument more than once or a
lambda; the executor's sandbox defines them on every connection before any SQL runs. Their
names start with ``hive_``, which no query can call: a query's functions are checked against
Hive's function list (:mod:`rayemr.hive.sql.functions`) before any rewrite.
"""
from __future__ import annotations

#: name -> (parameters, DuckDB expression)
MACROS: dict[str, tuple[str, str]] = {
    # unhex (UDFUnhex): NULL unless every character is a hex digit; an odd count gets a
    # leading 0
    "hive_unhex": ("s", """
        CASE WHEN regexp_full_match(s, '[0-9A-Fa-f]*')
             THEN unhex(CASE WHEN length(s) % 2 = 1 THEN '0' || s ELSE s END) END"""),
    # find_in_set(s, list) (GenericUDFFindInSet)
    "hive_find_in_set": ("s, l", """
        CASE WHEN s IS NULL OR l IS NULL THEN NULL WHEN contains(s, ',') THEN 0
             ELSE coalesce(list_position(string_split(l, ','), s), 0) END"""),
    # parse_url(url, part) as java.net.URL splits it (NULL for a part the URL lacks, and
    # for an unknown part name)
    "hive_parse_url": ("u, part", """
        CASE upper(part)
          WHEN 'PROTOCOL' THEN nullif(regexp_extract(u, '^([^:/?#]+):', 1), '')
          WHEN 'AUTHORITY' THEN regexp_extract(u, '^[^:/?#]+://([^/?#]*)', 1)
          WHEN 'HOST' THEN regexp_extract(u, '^[^:/?#]+://(?:[^@/?#]*@)?([^:/?#]*)', 1)
          WHEN 'USERINFO' THEN nullif(regexp_extract(u, '^[^:/?#]+://([^@/?#]*)@', 1), '')
          WHEN 'PATH' THEN regexp_extract(u, '^[^:/?#]+://[^/?#]*([^?#]*)', 1)
          WHEN 'FILE' THEN regexp_extract(u, '^[^:/?#]+://[^/?#]*([^#]*)', 1)
          WHEN 'QUERY' THEN CASE WHEN contains(split_part(u, '#', 1), '?')
                                 THEN regexp_extract(u, '[?]([^#]*)', 1) END
          WHEN 'REF' THEN CASE WHEN contains(u, '#') THEN regexp_extract(u, '#(.*)$', 1) END
        END"""),
    # parse_url(url, 'QUERY', key): the value of key in the query string
    "hive_parse_url_key": ("u, part, k", """
        CASE WHEN upper(part) = 'QUERY' THEN list_extract(list_transform(list_filter(
            string_split(hive_parse_url(u, 'QUERY'), '&'),
            lambda kv: split_part(kv, '=', 1) = k),
            lambda kv: substr(kv, length(k) + 2)), 1) END"""),
    # a string as a Hive integer (LazyInteger/LazyLong.parse, as CAST and text tables read
    # it): optional blanks and sign, digits, an ignored fraction ('1.9' is 1); anything else
    # -- exponents, hex, underscores, which DuckDB's cast accepts -- is NULL
    # an INTERVAL DAY TO SECOND of ``us`` microseconds as HiveIntervalDayTime.toString writes
    # it: [-]days HH:mm:ss.nnnnnnnnn
    "hive_day_time_text": ("us", """
        printf('%s%d %02d:%02d:%02d.%09d', CASE WHEN us < 0 THEN '-' ELSE '' END,
               abs(us) // 86400000000, abs(us) // 3600000000 % 24, abs(us) // 60000000 % 60,
               abs(us) // 1000000 % 60, abs(us) % 1000000 * 1000)"""),
    "hive_text_to_long": ("s", """
        TRY_CAST(regexp_extract(s, '^[[:space:]]*([+-]?[0-9]+)([.][0-9]*)?[[:space:]]*$', 1)
                 AS BIGINT)"""),
    # substr(s, pos, len) (UDFSubstr): pos is 1-based, 0 is 1, negative counts from the end;
    # a start before the string's beginning or after its end, or len <= 0, is ''.
    "hive_substr": ("s, p, l", """
        CASE WHEN s IS NULL OR p IS NULL OR l IS NULL THEN NULL
             WHEN l <= 0 OR -p > length(s) THEN ''
             ELSE substring(s, CASE WHEN p > 0 THEN p WHEN p = 0 THEN 1
                                    ELSE length(s) + p + 1 END, l) END"""),
    "hive_substr_to_end": ("s, p", """
        CASE WHEN s IS NULL OR p IS NULL THEN NULL
             WHEN -p > length(s) THEN ''
             ELSE substring(s, CASE WHEN p > 0 THEN p WHEN p = 0 THEN 1
                                    ELSE length(s) + p + 1 END) END"""),
    # the same on BINARY (UDFSubstr's byte-array form), through the bytes' hex text
    "hive_substr_binary": ("b, p, l", """
        CASE WHEN b IS NULL OR p IS NULL OR l IS NULL THEN NULL
             WHEN l <= 0 OR -p > octet_length(b) THEN ''::BLOB
             ELSE unhex(substring(hex(b), 2 * CAST(CASE WHEN p > 0 THEN p WHEN p = 0 THEN 1
                                    ELSE octet_length(b) + p + 1 END AS BIGINT) - 1,
                                  2 * least(CAST(l AS BIGINT), octet_length(b)))) END"""),
    # round(double, d) (RoundUtils.round): BigDecimal.valueOf(x).setScale(d, HALF_UP), i.e.
    # half-up on the shortest decimal form of the double (2.675 -> 2.68), NaN/inf unchanged.
    "hive_round_double": ("x, d", """
        coalesce(CAST(round(TRY_CAST(CAST(x AS VARCHAR) AS DECIMAL(38, 18)), d) AS DOUBLE),
                 round(x, d))"""),
    # collect_set (GenericUDAFMkCollectionEvaluator, a LinkedHashSet): distinct values in
    # the order they first arrive. Sort (value, position) pairs, keep each value's first
    # (the pair differs from its predecessor; no lambda captures a list, which DuckDB would
    # copy per element), put them back in position order: O(n log n).
    "hive_first_of_each": ("t", """
        list_filter(list_zip(t, list_prepend(NULL, list_slice(t, 1, len(t) - 1))),
                    lambda z: z[1].v IS DISTINCT FROM z[2].v)"""),
    "hive_collect_set": ("l", """
        list_transform(list_sort(list_transform(
            hive_first_of_each(list_sort(list_transform(l, lambda e, i: {'v': e, 'i': i}))),
            lambda z: {'i': z[1].i, 'v': z[1].v})), lambda s: s.v)"""),
    # Java's Double.toString (reflect()'s results): decimal notation for 1e-3 <= |x| < 1e7,
    # else d.dddE<n>; always a digit after the point. DuckDB writes the same shortest
    # digits, as 12345678.0, 0.00012345 or 1e+20.
    "hive_java_digits": ("d, e", """
        left(d, 1) || '.' || CASE WHEN length(d) > 1 THEN substr(d, 2) ELSE '0' END
        || 'E' || CAST(e AS VARCHAR)"""),
    "hive_java_scientific": ("s", """
        CASE WHEN contains(s, 'e') THEN
                 CASE WHEN contains(split_part(s, 'e', 1), '.') THEN split_part(s, 'e', 1)
                      ELSE split_part(s, 'e', 1) || '.0' END
                 || 'E' || CAST(CAST(split_part(s, 'e', 2) AS INTEGER) AS VARCHAR)
             WHEN split_part(s, '.', 1) <> '0' THEN hive_java_digits(
                 rtrim(split_part(s, '.', 1) || split_part(s, '.', 2), '0'),
                 length(split_part(s, '.', 1)) - 1)
             ELSE hive_java_digits(
                 rtrim(ltrim(split_part(s, '.', 2), '0'), '0'),
                 length(ltrim(split_part(s, '.', 2), '0')) - length(split_part(s, '.', 2))
                 - 1) END"""),
    "hive_java_double": ("x", """
        CASE WHEN x IS NULL THEN NULL
             WHEN isnan(x) THEN 'NaN'
             WHEN isinf(x) THEN CASE WHEN x > 0 THEN 'Infinity' ELSE '-Infinity' END
             WHEN x = 0 OR (abs(x) >= 0.001 AND abs(x) < 10000000) THEN CAST(x AS VARCHAR)
             ELSE CASE WHEN x < 0 THEN '-' ELSE '' END
                  || hive_java_scientific(CAST(abs(x) AS VARCHAR)) END"""),
    # hash() (ObjectInspectorUtils.hashCode, GenericUDFHash): Java int arithmetic; a string
    # hashes its UTF-8 bytes as Text.hashCode does (h = 1; h = 31 * h + signed byte), a
    # BIGINT as Long.hashCode, several arguments as r = 31 * r + hash(arg).
    "hive_wrap32": ("v", """
        CAST(((CAST(v AS HUGEINT) + 2147483648) & 4294967295) - 2147483648 AS INTEGER)"""),
    "hive_utf8": ("c", """
        CASE WHEN c < 128 THEN [c]
             WHEN c < 2048 THEN [192 | (c >> 6), 128 | (c & 63)]
             WHEN c < 65536 THEN [224 | (c >> 12), 128 | ((c >> 6) & 63), 128 | (c & 63)]
             ELSE [240 | (c >> 18), 128 | ((c >> 12) & 63), 128 | ((c >> 6) & 63),
                   128 | (c & 63)] END"""),
    "hive_string_hash": ("s", """
        coalesce(list_reduce(flatten(list_transform(string_split(s, ''),
                                                    lambda ch: hive_utf8(ord(ch)))),
                             lambda h, b: hive_wrap32(31 * CAST(h AS BIGINT)
                                                      + CASE WHEN b >= 128 THEN b - 256
                                                             ELSE b END), 0), 0)"""),
    "hive_long_hash": ("v", """
        coalesce(hive_wrap32(xor((CAST(v AS HUGEINT) + 18446744073709551616)
                                 % 18446744073709551616,
                                 ((CAST(v AS HUGEINT) + 18446744073709551616)
                                  % 18446744073709551616) >> 32) & 4294967295), 0)"""),
    "hive_hash_step": ("r, h", "hive_wrap32(31 * CAST(r AS BIGINT) + h)"),
    # Double.doubleToLongBits / Float.floatToIntBits, computed: the exponent from log2
    # (corrected by one where log2 rounds), the mantissa exactly (scaling by powers of 2)
    "hive_exponent": ("a, e", """
        CASE WHEN a < pow(2, e) THEN e - 1 WHEN a >= pow(2, e + 1) THEN e + 1 ELSE e END"""),
    "hive_ieee_bits": ("a, e, bias, digits", """
        CAST(e + bias AS HUGEINT) * CAST(pow(2, digits) AS HUGEINT)
        + CAST((a / pow(2, e) - 1) * pow(2, digits) AS HUGEINT)"""),
    "hive_double_bits": ("x", """
        CASE WHEN isnan(x) THEN 9221120237041090560
             WHEN isinf(x) THEN CASE WHEN x > 0 THEN 9218868437227405312
                                     ELSE 18442240474082181120 END
             WHEN x = 0 THEN CASE WHEN signbit(x) THEN 9223372036854775808 ELSE 0 END
             ELSE CASE WHEN x < 0 THEN 9223372036854775808 ELSE 0 END
                  + CASE WHEN abs(x) < 2.2250738585072014e-308
                         THEN CAST(abs(x) * pow(2, 1022) * pow(2, 52) AS HUGEINT)
                         ELSE hive_ieee_bits(abs(x), hive_exponent(abs(x),
                                             CAST(floor(log2(abs(x))) AS INTEGER)), 1023, 52)
                    END END"""),
    "hive_float_bits": ("x", """
        CASE WHEN isnan(x) THEN 2143289344
             WHEN isinf(x) THEN CASE WHEN x > 0 THEN 2139095040 ELSE 4286578688 END
             WHEN x = 0 THEN CASE WHEN signbit(x) THEN 2147483648 ELSE 0 END
             ELSE CASE WHEN x < 0 THEN 2147483648 ELSE 0 END
                  + CASE WHEN abs(x) < 1.1754943508222875e-38
                         THEN CAST(abs(x) * pow(2, 149) AS HUGEINT)
                         ELSE hive_ieee_bits(abs(x), hive_exponent(abs(x),
                                             CAST(floor(log2(abs(x))) AS INTEGER)), 127, 23)
                    END END"""),
    "hive_double_hash": ("x", """
        coalesce(hive_wrap32(xor(hive_double_bits(x), hive_double_bits(x) >> 32)
                             & 4294967295), 0)"""),
    "hive_float_hash": ("x", "coalesce(hive_wrap32(hive_float_bits(CAST(x AS DOUBLE))), 0)"),
    # Java's (long) and (int) of a double or float (UDFToLong, UDFToInteger): truncated
    # toward zero, saturated at the type's range, NaN 0
    "hive_double_to_long": ("x", """
        CASE WHEN isnan(x) THEN 0
             WHEN x >= 9223372036854775807 THEN 9223372036854775807
             WHEN x <= -9223372036854775808 THEN -9223372036854775808
             ELSE CAST(trunc(x) AS BIGINT) END"""),
    "hive_double_to_int": ("x", """
        CASE WHEN isnan(x) THEN 0
             WHEN x >= 2147483647 THEN 2147483647
             WHEN x <= -2147483648 THEN -2147483648
             ELSE CAST(trunc(x) AS INTEGER) END"""),
    # a DECIMAL(p, s) as its unscaled integer (-0.50 -> -50): DuckDB writes every digit
    "hive_unscaled": ("x", "CAST(replace(CAST(x AS VARCHAR), '.', '') AS HUGEINT)"),
    # n / d rounded half up (HiveDecimal.divide, RoundingMode.HALF_UP), in integers; the
    # remainder is compared with what is left of d, so nothing doubles past 128 bits
    "hive_decimal_quotient": ("n, d", """
        sign(n) * sign(d) * (abs(n) // abs(d)
                             + CASE WHEN abs(n) % abs(d) >= abs(d) - abs(n) % abs(d)
                                    THEN 1 ELSE 0 END)"""),
    # interval_year_month('y-m') (HiveIntervalYearMonth.valueOf: [+-]years-months, months
    # 0..11; anything else NULL) as an interval of months
    "hive_year_month": ("s", """
        CASE WHEN regexp_full_match(s, '[+-]?[0-9]+-([0-9]|1[01])')
             THEN to_months(CASE WHEN starts_with(s, '-') THEN -1 ELSE 1 END
                            * (CAST(regexp_extract(s, '([0-9]+)-', 1) AS BIGINT) * 12
                               + CAST(regexp_extract(s, '-([0-9]+)$', 1) AS BIGINT))) END"""),
    # an INTERVAL YEAR TO MONTH as HiveIntervalYearMonth.toString writes it: [-]years-months
    "hive_year_month_text": ("i", """
        CASE WHEN datepart('year', i) * 12 + datepart('month', i) < 0 THEN '-' ELSE '' END
        || CAST(abs(datepart('year', i)) AS VARCHAR) || '-'
        || CAST(abs(datepart('month', i)) AS VARCHAR)"""),
}


def statements() -> list[str]:
    """``CREATE OR REPLACE MACRO`` statements, in dependency order."""
    return [f"CREATE OR REPLACE MACRO {name}({params}) AS {' '.join(body.split())}"
            for name, (params, body) in MACROS.items()]
