#!/usr/bin/env python3
"""Writes the committed seed corpus: Fuzz/Corpus/{quota,msisdn,manifest,token,insights,polling,pim,idscan}/<name>.

Run from anywhere: `python3 Fuzz/Corpus/make-seeds.py`. It rewrites the seeds it knows and leaves other files
(minimised crashes in regressions/, inputs merged in by hand) alone. Seeds are small and meaningful: every
accepted form, and the nasty ones (BOM, CRLF, quotes, NUL, invalid UTF-8, other delimiters, huge numbers).
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    folder = os.path.join(HERE, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


# --- quota: header lines "name: value"; an optional first line "@<local epoch seconds>" -------------------------
DATE = "Date: Sun, 23 Nov 2025 17:00:00 GMT"
BASE = "quota-limit: 100\nquota-used: 42\nquota-interval: 1\nquota-time-unit: minute\n"
quota = {
    "reset-epoch-ms": BASE + "quota-reset-UTC: 1763917260000\n" + DATE,
    "reset-epoch-ms-fraction": BASE + "quota-reset-UTC: 1763917260500\n" + DATE,
    "reset-epoch-s": BASE + "quota-reset-UTC: 1763917260\n" + DATE,
    "reset-iso8601-z": BASE + "quota-reset-UTC: 2025-11-23T17:01:00Z\n" + DATE,
    "reset-iso8601-fraction": BASE + "quota-reset-UTC: 2025-11-23T17:01:00.250Z\n" + DATE,
    "reset-iso8601-comma-lower": BASE + "quota-reset-UTC: 2025-11-23t17:01:00,5z\n" + DATE,
    "reset-iso8601-offset": BASE + "quota-reset-UTC: 2025-11-23T18:01:00+01:00\n" + DATE,
    "reset-iso8601-offset-nocolon": BASE + "quota-reset-UTC: 2025-11-23T16:31:00-0130\n" + DATE,
    "reset-iso8601-space-nozone": BASE + "quota-reset-UTC: 2025-11-23 17:01:00\n" + DATE,
    "reset-rfc1123": BASE + "quota-reset-UTC: Sun, 23 Nov 2025 17:01:00 GMT\n" + DATE,
    "reset-rfc1123-noweekday-utc": BASE + "quota-reset-UTC: 23 nov 2025 17:01:00 UTC\n" + DATE,
    "reset-rfc1123-plus0000": BASE + "quota-reset-UTC: Sun, 23 Nov 2025 17:01:00 +0000\n" + DATE,
    "reset-na": BASE + "quota-reset-UTC: n/a\n" + DATE,
    "reset-empty": BASE + "quota-reset-UTC:\n" + DATE,
    "reset-past": BASE + "quota-reset-UTC: 1763917100\n" + DATE,
    "reset-17-digits": BASE + "quota-reset-UTC: 17639172601234567\n" + DATE,
    "reset-year-9999": BASE + "quota-reset-UTC: 9999-12-31T23:59:60.999Z\n" + DATE,
    "reset-year-0001": BASE + "quota-reset-UTC: 0001-01-01T00:00:00-23:59\n" + DATE,
    "reset-no-date-local-clock": "@1763917220.5\n" + BASE + "quota-reset-UTC: 1763917260000",
    "date-unreadable": "@1763917220\n" + BASE + "quota-reset-UTC: 1763917260000\nDate: yesterday",
    "retry-after-seconds": "quota-limit: 10\nquota-used: 10\nRetry-After: 7\n" + DATE,
    "retry-after-date": "Retry-After: Sun, 23 Nov 2025 17:00:45 GMT\n" + DATE,
    "retry-after-date-past": "Retry-After: Sun, 23 Nov 2025 16:59:00 GMT\n" + DATE,
    "retry-after-negative": "Retry-After: -5\nRetry-After: 1.5\n" + DATE,
    "retry-after-huge": "Retry-After: 99999999999\n" + DATE,
    "case-and-spacing": "QUOTA-LIMIT:  10 \nQuota-Used:\t4\t\nquota-interval: 15\nQuota-Time-Unit: Minutes\r\n"
    "quota-reset-utc: 1763917230000\r\nRETRY-AFTER: 7\r\ndate: Sun, 23 Nov 2025 17:00:00 GMT\r\n",
    "units-all": "quota-interval: 3\nquota-time-unit: Month\nquota-time-unit: weeks\nquota-time-unit: day\n"
    "quota-time-unit: hours\nquota-time-unit: second",
    "interval-large": "quota-limit: 1\nquota-used: 0\nquota-interval: 99999999999\nquota-time-unit: day",
    "unrelated-and-malformed": "quota-limit: ten\nquota-used: -1\nsunset: n/a\napi-version: 1\nno colon here\n:\n::\n",
    "duplicates-last-wins": "quota-limit: 5\nquota-limit: 50\nquota-used: 1\nquota-used: 2\n" + DATE,
    "date-forms": "Date: Tue, 29 Feb 2028 23:59:59 GMT\nquota-reset-UTC: Sunday, 06-Nov-94 08:49:37 GMT\n"
    "quota-limit: +7\nquota-used: 0x10",
    "spent-no-reset": "quota-limit: 10\nquota-used: 12\nquota-interval: 1\nquota-time-unit: hour",
}
for name, text in quota.items():
    write("quota", name, text)

# --- msisdn: the manifest cell ------------------------------------------------------------------------------------
msisdn = {
    "nl-06": "0612345678", "nl-plus31": "+31612345678", "nl-0031": "0031612345678", "nl-31": "31612345678",
    "nl-spaces": "+31 6 1234 5678", "nl-dash": "06-12345678", "nl-dots": "06.1234.5678", "nl-slash": "06/12345678",
    "nl-parens": "(06) 1234 5678", "nl-trunk-zero": "+31 (0)6-1234 5678", "nl-0031-trunk-zero": "0031 (0)6 12345678",
    "nl-no-zero": "612345678", "nl-68": "+31 6 8123 4567", "nl-tab": "\t0612345678\t", "nl-surrounding": "  0612345678  ",
    "nl-nbsp": "06\u00a012345678", "nl-fullwidth-digits": "\uff10\uff16\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18",
    "uk-plus": "+44 7911 123456", "uk-00": "0044 7911 123456", "de-plus": "+49 151 23456789",
    "nc-9-digits": "+687 79 12 34", "max-15": "+123456789012345", "too-long": "+1234567890123456",
    "too-short": "+1234567", "nl-pager": "0661234567", "nl-landline": "0201234567", "nl-short": "0612345",
    "national-other": "012345", "plus-only": "+", "double-plus": "++31612345678", "plus-late": "06+12345678",
    "letters": "0612AB5678", "empty": "", "spaces": "   ", "double-zero-national": "00 0612345678",
    "parens-nested": "+31 ((0))6 1234 5678", "paren-no-plus": "(0)612345678", "plus-zero": "+0612345678",
    "emoji": "06\U0001F4DE12345678", "nul": "0612\x0045678", "arabic-digits": "\u0660\u0666\u0661\u0662",
}
for name, text in msisdn.items():
    write("msisdn", name, text)

# --- manifest: option byte, then the file ---------------------------------------------------------------------------
# Option byte: bits 0-2 delimiter (0 detect, 4 comma, 5 semicolon, 6 tab, 7 pipe), bit 3 key column, bit 4 loose
# msisdn column name, bit 5 expand `FF n c` runs, bits 6-7 split seed.
BOM = b"\xef\xbb\xbf"
manifest = {
    "plain": (0, b"msisdn,name\n0612345678,Ann\n+31612345678,Bob\n"),
    "with-key": (8, b"key,msisdn\n1,0612345678\n2,0687654321\n2,0687654321\n"),
    "semicolon": (0, b"key;msisdn;note\n1;06-12345678;a, b\n"),
    "tab": (0, b"key\tmsisdn\n1\t 0612345678 \n"),
    "pipe": (0, b"key|msisdn\n1|0612345678\n"),
    "given-semicolon": (5, b"name,with,commas;msisdn\nx;0612345678\n"),
    "given-tab": (6, b"msisdn\tkey\n0612345678\t a \n"),
    "given-pipe": (7 | 8, b"key|msisdn\n1|0612345678\n"),
    "bom-crlf": (0, BOM + b"msisdn,key\r\n0612345678,a\r\n0687654321,b\r\n"),
    "mixed-line-ends": (0, b"msisdn\r\n1\n2\r3\r\n4"),
    "quotes": (8, b'key,msisdn,note\n1,0612345678,"a, ""quoted""\nnote"\n"2","+31 6 1234 5678",x\n'),
    "quoted-delimiter-header": (0, b'"a,b";msisdn\n"x;y";0612345678\n'),
    "stray-quote": (0, b'msisdn,note\n0612345678,ab"c"d\n"06"12345678,x\n'),
    "unterminated-quote": (0, b'msisdn,note\n0612345678,"open\n0687654321,x\n'),
    "unterminated-quote-header": (0, b'"msisdn,note\n0612345678,x\n'),
    "quote-then-spaces": (0, b'msisdn\n"0612345678"   \n'),
    "blank-lines": (0, b"\n\n  \nmsisdn\n\n0612345678\n\n\t\n0687654321\n"),
    "header-only": (0, b"msisdn,key\n"),
    "empty": (0, b""),
    "only-bom": (0, BOM),
    "utf16-bom": (0, b"\xff\xfem\x00s\x00i\x00s\x00d\x00n\x00\n\x00"),
    "utf32-bom": (0, b"\xff\xfe\x00\x00m\x00\x00\x00"),
    "nul-in-cell": (0, b"msisdn,note\n0612345678,a\x00b\n"),
    "nul-in-header": (0, b"msisdn,no\x00te\n0612345678,a\n"),
    "invalid-utf8-cell": (0, b"msisdn,note\n0612345678,\xc3\x28\n\xff\xfe,x\n"),
    "invalid-utf8-header": (0, b"msisdn,\xed\xa0\x80\n0612345678,a\n"),
    "too-many-fields": (0, b"msisdn,key\n0612345678,a,b,c\n"),
    "fewer-fields": (8, b"key,msisdn,note\n1\n2,0612345678\n"),
    "missing-column": (0, b"phone,name\n0612345678,Ann\n"),
    "duplicate-column": (0, b"msisdn,MSISDN ,x\n0612345678,0612345678,a\n"),
    "loose-column-name": (16, b"\xc2\xa0Msisdn\xe2\x80\x8b,key\n0612345678,a\n"),
    "header-looks-like-data": (0, b"0612345678,31687654321\n0612345678,x\n"),
    "header-other-delimiter": (4, b"msisdn;key\n0612345678;a\n"),
    "rejects-mixed": (8, b"key,msisdn\n1,\n2,06-1234\n3,+44 7911 123456\n4,0201234567\n5,abc\n"),
    "cr-only": (0, b"msisdn\r0612345678\r0687654321"),
    "delimiter-tie": (0, b"a,b;c\n1,2;3\n"),
    "spaces-and-tabs-trimmed": (4, b"  msisdn  ,\tkey\t\n  0612345678  ,\t a\t\n"),
    # Expanded (bit 5): FF n c = byte c repeated (n+1) x 256 times.
    "expand-long-cell": (32, b"msisdn,note\n0612345678,\xff\xfe" + b"x" + b"\xff\x00x\n"),
    "expand-many-fields": (32, b"msisdn\n0612345678\xff\xff,\xff\x10,\n"),
    "expand-chunk-boundary": (32 | 64, b"msisdn,note\n\xff\xff\n\xff\xff\n\xff\xff\n\xff\xfb\n0612345678,\"a\xff\x20b\"\n"),
    "expand-header-many-fields": (32, b"msisdn\xff\xff,\xff\x01,\n0612345678\n"),
    "expand-many-rows": (32 | 128, b"msisdn\n\xff\x30" + b"x" + b"\n0612345678\n\xff\xff;\n"),
}
for name, (options, data) in manifest.items():
    write("manifest", name, bytes([options]) + data)

# --- answers: the services' JSON (token, insights, polling, pim, idscan: the first byte picks the parser) ---------
token = {
    "gateway": '{"access_token":"abc123","token_type":"Bearer","expires_in":"3599","status":"approved"}',
    "numberverify": '{"access_token":"abc123","token_type":"Bearer","expires_in":3600}',
    "inf": '{"access_token":"t","expires_in":"inf"}',
    "huge": '{"access_token":"t","expires_in":1e300}',
    "nan": '{"access_token":"t","expires_in":"nan"}',
    "negative": '{"access_token":"t","expires_in":-5}',
    "wrong-types": '{"access_token":["t"],"expires_in":{"s":1}}',
    "no-token": '{"token_type":"Bearer"}',
}
for name, text in token.items():
    write("token", name, text)
insights = {
    "seed": '{"operator_lookup":{"operatorName":"KPN","regionCode":"NL","mcc":"204","mnc":"08"},"device_match":{"session_uri":"https://server/v1/dm/session/ab","polling_uri":"https://server/v1/dm/polling/ab"}}',
    "spec": '{"operator_lookup":{"operatorName":"T-Mobile","regionCode":null,"mcc":204,"mnc":16},"device_match":{"session_id":"0a1f","polling_id":"0a1f"}}',
    "wrong-types": '{"operator_lookup":{"operatorName":{"name":"KPN"},"regionCode":["NL"],"mcc":true},"device_match":7}',
    "escapes": '{"operator_lookup":{"operatorName":"K\\u00e9\\ud83d\\ude00\\n","regionCode":"\\u0000"}}',
    "deep": '{"operator_lookup":{"x":' + "[" * 70 + "]" * 70 + "}}",
}
for name, text in insights.items():
    write("insights", name, text)
polling = {
    "top": '{"msisdn":"31612345678","device_match":"available","errors":[]}',
    "errors": '{"msisdn":"31612345678","device_match":null,"errors":[{"device_match":"UNAVAILABLE"}]}',
    "bool": '{"device_match":true}',
    "wrong-types": '{"device_match":1,"errors":"x"}',
}
for name, text in polling.items():
    write("polling", name, text)
SVG = '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>'
import base64
svg64 = base64.b64encode(SVG.encode()).decode()
pim = {
    "bare": svg64,
    "json-string": '"%s"' % svg64,
    "json-object": '{"image":"%s","format":"svg"}' % svg64,
    "not-svg": base64.b64encode(b"<html></html>").decode(),
    "wrapped": svg64[:20] + "\r\n" + svg64[20:],
}
for name, text in pim.items():
    write("pim", name, text)
idscan = {
    "result": b"\x00" + b'{"id":"r1","tasks":[{"type":"document_scan","result":[{"field":"surname","values":[{"source":"MRZ","value":"Jansen"},{"source":"visual","value":42}]}],"files":[{"category":"document","type":"front","url":"https://api.cm.com/id-scan/v1/files/f1"}]}]}',
    "result-wrong": b"\x00" + b'{"tasks":[{"files":[{"url":7}],"result":[{"field":["x"]}]}]}',
    "created": b"\x01" + b'{"id":"0f8fad5b-d9cb-469f-a165-70867728950e","url":"https://scan.example/t","expires":"2026-12-03T00:00:00Z"}',
    "created-wrong": b"\x01" + b'{"id":"t1","url":{"href":"x"},"expires":5}',
}
for name, data in idscan.items():
    write("idscan", name, data)
