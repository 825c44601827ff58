#!/usr/bin/python3
"""Reference renderings for TuneSharp's Jinja engine, produced by the real Jinja2 configured as
Hugging Face transformers configures it for chat templates (see transformers' chat-template utilities):

    ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, loopcontrols])
    filters["tojson"] = json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)
    globals["raise_exception"] raises jinja2.exceptions.TemplateError(message)
    globals["strftime_now"] = datetime.now().strftime(format)

and rendered like apply_chat_template(tokenize=False): messages, tools (None when absent), documents=None,
add_generation_prompt, the special tokens that are set, and extra kwargs.

Determinism: strftime_now uses the fixed time FIXED_NOW (the C# tests pass the same clock).

Run from the repository root with Debian's python (jinja2 3.1.x):
    /usr/bin/python3 tools/chat_templates/render_reference.py [--fixtures ../shared/fixtures]
Writes tests/fixtures/chat-templates/expected.json and engine-cases.json.
"""
import argparse
import glob
import json
import os
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

FIXED_NOW = datetime(2024, 7, 26, 14, 5, 9)
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(REPO, "tests", "fixtures", "chat-templates")


class GenerationBlock(Extension):
    """transformers' AssistantTracker without the index tracking: {% generation %} renders its body."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return FIXED_NOW.strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationBlock, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def classify(e):
    """'raised' for raise_exception, 'syntax' for parse errors, else 'runtime'."""
    if type(e) is jinja2.exceptions.TemplateError:
        return "raised"
    if isinstance(e, jinja2.exceptions.TemplateSyntaxError):
        return "syntax"
    return "runtime"


def render(env, source, variables):
    try:
        template = env.from_string(source)
    except jinja2.exceptions.TemplateSyntaxError as e:
        return {"error": {"kind": "syntax", "type": type(e).__name__, "message": e.message, "line": e.lineno}}
    try:
        return {"output": template.render(**variables)}
    except Exception as e:  # noqa: BLE001 - every failure is a recorded expectation
        return {"error": {"kind": classify(e), "type": type(e).__name__, "message": str(e)}}


def chat_templates(fixtures):
    """(id, source, location, bos, eos) for every template under test."""
    out = []
    for name in ("qwen3", "llama3"):
        rel = f"tokenizers/{name}/tokenizer_config.json"
        cfg = json.load(open(os.path.join(fixtures, rel), encoding="utf-8"))
        out.append((name, cfg["chat_template"], {"shared_tokenizer_config": rel}, cfg.get("bos_token"), cfg.get("eos_token")))
    for path in sorted(glob.glob(os.path.join(fixtures, "chat-templates", "*.jinja"))):
        rel = os.path.relpath(path, fixtures)
        tid = "file:" + os.path.basename(path)[: -len(".jinja")]
        out.append((tid, open(path, encoding="utf-8").read(), {"shared_file": rel}, "<s>", "</s>"))
    for path in sorted(glob.glob(os.path.join(REPO, "src", "TuneSharp.Data", "Templates", "BuiltIn", "*.jinja"))):
        name = os.path.basename(path)[: -len(".jinja")]
        source = open(path, encoding="utf-8").read()
        out.append(("builtin:" + name, source, {"builtin": name}, None, None))
        out.append(("builtin-tokens:" + name, source, {"builtin": name}, "<BOS>", "<EOS>"))
    return out


def chat_cases(env, fixtures):
    conv_file = json.load(open(os.path.join(OUT_DIR, "conversations.json"), encoding="utf-8"))
    templates, cases = {}, []
    for tid, source, location, bos, eos in chat_templates(fixtures):
        templates[tid] = dict(location, bos_token=bos, eos_token=eos)
        for conv in conv_file["conversations"]:
            for agp in (False, True):
                variables = {
                    "messages": conv["messages"],
                    "tools": conv_file["tools"] if conv.get("use_tools") else None,
                    "documents": None,
                    "add_generation_prompt": agp,
                }
                if bos is not None:
                    variables["bos_token"] = bos
                if eos is not None:
                    variables["eos_token"] = eos
                variables.update(conv.get("extra", {}))
                case = {"template": tid, "conversation": conv["id"], "add_generation_prompt": agp}
                case.update(render(env, source, variables))
                cases.append(case)
    return {"generator": "tools/chat_templates/render_reference.py", "jinja2": jinja2.__version__,
            "fixed_now": FIXED_NOW.isoformat(), "templates": templates, "cases": cases}


# Engine semantics: (id, template, variables). Expected outputs come from Jinja2 above.
ENGINE_CASES = [
    # whitespace control, trim_blocks, lstrip_blocks
    ("trim_blocks", "{% if true %}\nA\n{% endif %}\nB", {}),
    ("lstrip_blocks", "x\n    {% if true %}\n    y\n    {% endif %}\nz", {}),
    ("lstrip_not_after_text", "a  {% if true %}b{% endif %}  c", {}),
    ("lstrip_comment", "a\n   {# note #}\nb", {}),
    ("lstrip_plus_disables", "a\n   {%+ if true %}b{% endif %}\n", {}),
    ("trim_plus_disables", "{% if true +%}\nA{% endif %}", {}),
    ("minus_both_sides", "a  \n  {%- if true -%}  \n  b  \n  {%- endif -%}\n  c", {}),
    ("variable_minus", "a   {{- 'b' -}}   c\n", {}),
    ("variable_not_lstripped", "\n    {{ 'v' }}\n    {% if true %}t{% endif %}\n", {}),
    ("trailing_newline_dropped", "line\n", {}),
    ("only_one_trailing_newline_dropped", "line\n\n", {}),
    ("crlf_normalised", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc", {}),
    ("raw_block", "{% raw %}{{ not rendered }}{% endraw %}|{%- raw -%}  x  {%- endraw %}", {}),
    ("raw_keeps_newline", "{% raw %}\nA\n    {% endraw %}\nB", {}),
    ("comment_minus", "a {#- c -#} b", {}),
    ("tag_after_variable_same_line", "{{ 1 }}  {% if true %}x{% endif %}", {}),
    ("block_end_minus_eats_newlines", "{% if true -%}\n\n\n  x{% endif %}", {}),
    ("tabs_lstrip", "a\n\t \t{% if true %}b{% endif %}", {}),
    # literals and printing
    ("print_values", "{{ none }} {{ None }} {{ true }} {{ False }} {{ 1 }} {{ 1.0 }} {{ 1.5e3 }} {{ 0.1 + 0.2 }} {{ 1e100 }} {{ -0.0 }}", {}),
    ("print_collections", "{{ [1, 'a', none, true, 1.5, [2]] }} {{ {'k': 'v', 'n': {'x': 1}} }} {{ (1,) }} {{ (1, 2) }} {{ () }}", {}),
    ("print_string_repr", "{{ ['it\\'s', \"say \\\"hi\\\"\", 'tab\\there', 'nl\\n', 'back\\\\slash', 'ünï', '\\x01'] }}", {}),
    ("string_escapes", "{{ 'a\\tb\\nc\\\\d\\'e\\\"f\\x41\\u00e9\\U0001F600' }}", {}),
    ("adjacent_strings", "{{ 'a' \"b\" 'c' }}", {}),
    ("numbers", "{{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 1_000 }} {{ 3 / 2 }} {{ 4 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }}", {}),
    ("float_repr", "{{ 1e16 }} {{ 1e15 }} {{ 123456789.123 }} {{ 0.0001 }} {{ 0.00001 }} {{ 1/3 }} {{ 2.5e-7 }} {{ 100.0 }}", {}),
    ("int_float_input", "{{ a }} {{ b }} {{ c }} {{ a + b }} {{ c is integer }} {{ b is float }}", {"a": 1, "b": 2.0, "c": 3}),
    # operators
    ("concat_and_arith", "{{ 'a' ~ 1 ~ none ~ true }} {{ 'ab' * 3 }} {{ [1] * 2 }} {{ [1] + [2] }} {{ 1 + 2 * 3 - 4 }} {{ -2 ** 2 }}", {}),
    ("filter_binds_tighter", "{{ 'x' + '  y  ' | trim + 'z' }} {{ -3|abs }} {{ 'A'|lower ~ 'b'|upper }}", {}),
    ("comparisons", "{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 'a' != 'a' }} {{ none == none }}", {}),
    ("in_operator", "{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'x' not in 'abc' }} {{ 1 in (1, 2) }} {{ 'x' in undefined_thing }}", {}),
    ("and_or_values", "{{ 0 or 'x' }} {{ 1 and 'y' }} {{ '' and 'z' }} {{ none or none }} {{ not 0 }} {{ not 'a' }}", {}),
    ("ternary", "{{ 'yes' if x else 'no' }} {{ 'a' if false }}|{{ 1 if 0 else 2 if 0 else 3 }}", {"x": True}),
    # variables, attributes, items, undefined
    ("attr_and_item", "{{ m.role }} {{ m['role'] }} {{ m.missing }}|{{ m['missing'] }}|{{ l[0] }} {{ l[-1] }} {{ l[5] }}|{{ l.0 }}", {"m": {"role": "user"}, "l": [1, 2, 3]}),
    ("dict_method_shadows_key", "{{ d['items'] }} {{ d.get('items') }} {{ d.get('nope', 'dflt') }} {{ d.get('nope') }}", {"d": {"items": "value"}}),
    ("undefined_behaviour", "[{{ u }}] {{ u is defined }} {{ u is undefined }} {{ u|length }} {{ u|default('d') }} {% for x in u %}never{% else %}empty{% endfor %} {{ u|string }} {{ 'x' ~ u ~ 'y' }}", {}),
    ("undefined_attribute_error", "{{ u.attr }}", {}),
    ("missing_key_then_attribute_error", "{{ m.missing.deeper }}", {"m": {"a": 1}}),
    ("undefined_plus_error", "{{ u + 'a' }}", {}),
    ("none_attribute", "{{ n.x }}|{{ n is none }}", {"n": None}),
    ("string_plus_int_error", "{{ 'a' + 1 }}", {}),
    ("none_in_error", "{{ 'a' in n }}", {"n": None}),
    ("call_undefined_error", "{{ nothing() }}", {}),
    ("list_append_unsafe", "{% set l = [1] %}{{ l.append(2) }}", {}),
    ("dict_update_unsafe", "{% set d = {} %}{{ d.update({'a': 1}) }}", {}),
    ("iterate_none_error", "{% for x in n %}{% endfor %}", {"n": None}),
    # slicing
    ("slicing", "{{ l[1:] }} {{ l[:2] }} {{ l[::-1] }} {{ l[::2] }} {{ l[-2:] }} {{ l[1:-1] }} {{ l[5:] }} {{ s[::-1] }} {{ s[1:3] }} {{ s[-1] }} {{ s[10:] }}|", {"l": [1, 2, 3, 4], "s": "héllo"}),
    ("slicing_negative_step", "{{ l[3:0:-1] }} {{ l[-1:-3:-1] }} {{ l[:1:-1] }} {{ (1, 2, 3)[1:] }}", {"l": [1, 2, 3, 4, 5]}),
    ("astral_string_ops", "{{ s|length }} {{ s[1] }} {{ s[::-1] }} {{ s|list }}", {"s": "a😀b"}),
    # statements
    ("for_loop_vars", "{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}", {}),
    ("for_prev_next", "{% for x in [1, 2, 3] %}{{ loop.previtem|default('-') }}{{ x }}{{ loop.nextitem|default('-') }} {% endfor %}", {}),
    ("for_else", "{% for x in [] %}x{% else %}empty{% endfor %}{% for x in [1] %}{{ x }}{% else %}no{% endfor %}", {}),
    ("for_filter", "{% for x in range(10) if x is odd %}{{ x }}:{{ loop.index }}/{{ loop.length }} {% endfor %}", {}),
    ("for_unpack_items", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k, v in d|dictsort %}{{ k }}{{ v }}{% endfor %}", {"d": {"b": 2, "a": 1}}),
    ("for_over_dict", "{% for k in d %}{{ k }}{% endfor %}", {"d": {"x": 1, "y": 2}}),
    ("for_nested_loop", "{% for a in [1, 2] %}{% for b in 'xy' %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}{{ loop.index }}|{% endfor %}", {}),
    ("loop_cycle_changed", "{% for x in [1, 1, 2, 2, 3] %}{{ loop.cycle('a', 'b') }}{% if loop.changed(x) %}!{% endif %}{% endfor %}", {}),
    ("break_continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x > 4 %}{% break %}{% endif %}{{ x }}{% endfor %}", {}),
    ("set_scoping_loop", "{% set x = 5 %}{% for i in [1, 2, 3] %}{{ x }}{% if loop.first %}{% set x = 1 %}{% endif %}{{ x }};{% endfor %}{{ x }}", {}),
    ("set_in_if_top_level", "{% if true %}{% set z = 3 %}{% endif %}{{ z }}", {}),
    ("set_shadows_variable", "{% set messages = messages[1:] %}{{ messages|length }}", {"messages": [1, 2, 3]}),
    ("namespace", "{% set ns = namespace(count=0, found=false) %}{% for x in [1, 2, 3] %}{% set ns.count = ns.count + x %}{% if x == 2 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.count }} {{ ns.found }}", {}),
    ("set_tuple_and_block", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set block %}  inner {{ a }}\n{% endset %}[{{ block }}]{% set t = 1, 2 %}{{ t }}", {}),
    ("set_block_filter", "{% set x | upper %}hello{% endset %}{{ x }}", {}),
    ("macro", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Bob') }} {{ greet('Al', punct='?') }} {{ greet(name='Cy') }}", {}),
    ("macro_sees_globals", "{% macro show() %}{{ bos_token }}{{ x }}{% endmacro %}{% set x = 'late' %}{{ show() }}", {"bos_token": "<s>"}),
    ("macro_recursion", "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ fact(5) }}", {}),
    ("filter_block", "{% filter upper %}abc {{ 'd' }}{% endfilter %}", {}),
    ("with_block", "{% with a = 1, b = 'x' %}{{ a }}{{ b }}{% endwith %}[{{ a }}]", {}),
    ("generation_block", "{% generation %}gen {{ 1 }}{% endgeneration %}", {}),
    ("raise_exception", "{% if x %}{{ raise_exception('Bad role: ' ~ x) }}{% endif %}", {"x": "robot"}),
    ("strftime_now", "{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S %A %B %j %p %I %y') }}|{{ strftime_now('%-d') }}", {}),
    ("range_forms", "{{ range(3)|list }} {{ range(1, 4)|list }} {{ range(10, 0, -3)|list }} {{ range(0)|list }}", {}),
    # tests
    ("tests_types", "{{ 's' is string }} {{ 1 is number }} {{ true is number }} {{ 1 is integer }} {{ true is integer }} {{ 1.0 is float }} {{ true is boolean }} {{ {} is mapping }} {{ [] is sequence }} {{ 's' is sequence }} {{ {} is sequence }} {{ 's' is iterable }} {{ 1 is iterable }} {{ none is none }} {{ u is sequence }} {{ u is iterable }}", {}),
    ("tests_values", "{{ true is true }} {{ 1 is true }} {{ false is false }} {{ 0 is false }} {{ 4 is even }} {{ 3 is odd }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ 1 is eq 1 }} {{ 2 is gt 1 }} {{ 'a' is in 'abc' }} {{ x is not none }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ none is sameas none }}", {"x": 1}),
    ("tests_callable", "{{ range is callable }} {{ 'x'.upper is callable }} {{ 1 is callable }} {{ 'trim' is filter }} {{ 'odd' is test }}", {}),
    # filters
    ("filter_trim_case", "[{{ '  a b \\n'|trim }}] [{{ 'xxaxx'|trim('x') }}] {{ 'hello world'|title }} {{ 'hello-world (foo) bar'|title }} {{ 'hELLO'|capitalize }} {{ 'aBc'|upper }}{{ 'aBc'|lower }} {{ \"they're bill's\"|title }}", {}),
    ("filter_length_count", "{{ 'abc'|length }} {{ [1, 2]|count }} {{ {'a': 1}|length }} {{ ''|length }}", {}),
    ("filter_join_list", "{{ [1, 2, 3]|join(', ') }} {{ 'abc'|list }} {{ 'abc'|join('-') }} {{ users|join(',', attribute='name') }}", {"users": [{"name": "a"}, {"name": "b"}]}),
    ("filter_default", "{{ u|default('x') }} {{ ''|default('x') }} {{ ''|default('x', true) }} {{ none|default('x') }} {{ none|d('x', boolean=true) }} {{ 0|d(5, true) }}", {}),
    ("filter_first_last", "{{ [1, 2, 3]|first }} {{ [1, 2, 3]|last }} {{ 'abc'|first }} {{ 'abc'|last }} [{{ []|first }}]", {}),
    ("filter_numbers", "{{ '42'|int }} {{ '4.7'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ 3.9|int }} {{ '2.5'|float }} {{ 'x'|float }} {{ 3|float }} {{ -4|abs }} {{ 2.567|round(2) }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.1|round(method='ceil') }} {{ 2.9|round(0, 'floor') }} {{ 7|round }}", {}),
    ("filter_replace", "{{ 'aaa'|replace('a', 'b') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 'abc'|replace('', '-') }}", {}),
    ("filter_tojson", "{{ data|tojson }}|{{ data|tojson(indent=2) }}|{{ [1, [], {}]|tojson(indent=4) }}|{{ 'ünï \"q\" \\n'|tojson }}|{{ data|tojson(sort_keys=true) }}|{{ data|tojson(separators=(',', ':')) }}|{{ (1, 2)|tojson }}", {"data": {"b": [1, 2.5, None, True], "a": "é", "n": {"x": 1e20, "y": -0.5}}}),
    ("filter_tojson_ensure_ascii_positional", "{{ 'é😀'|tojson(true) }}", {}),
    ("filter_tojson_undefined_error", "{{ u|tojson }}", {}),
    ("filter_selectattr", "{{ msgs|selectattr('role', 'equalto', 'user')|map(attribute='content')|list }} {{ msgs|rejectattr('role', 'equalto', 'user')|list|length }} {{ msgs|selectattr('tool')|list|length }} {{ msgs|selectattr('tool', 'defined')|map(attribute='tool')|join }}", {"msgs": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "tool": "t"}, {"role": "user", "content": "c"}]}),
    ("filter_select_reject", "{{ [1, 2, 3, 4]|select('odd')|list }} {{ [1, 2, 3, 4]|reject('odd')|list }} {{ [0, 1, '', 'a']|select|list }} {{ [1, 5, 10]|select('gt', 3)|list }}", {}),
    ("filter_map", "{{ ['a', 'b']|map('upper')|list }} {{ users|map(attribute='n', default='?')|list }} {{ [' x ', 'y ']|map('trim')|join('|') }} {{ pairs|map(attribute='n.0')|list }}", {"users": [{"n": "ab"}, {"m": 1}], "pairs": [{"n": "ab"}, {"n": ["x"]}]}),
    ("filter_generator_len_error", "{{ [1, 2]|select('odd')|length }}", {}),
    ("filter_items_dictsort", "{{ d|items|list }} {{ d|dictsort }} {{ d|dictsort(by='value', reverse=true) }} {{ {'B': 1, 'a': 2}|dictsort }} {{ {'B': 1, 'a': 2}|dictsort(true) }}", {"d": {"y": 1, "x": 3, "z": 2}}),
    ("filter_unique_reverse_sort", "{{ ['a', 'A', 'b', 'a']|unique|list }} {{ [3, 1, 2]|reverse|list }} {{ 'abc'|reverse }} {{ [3, 1, 2]|sort }} {{ ['b', 'A', 'c']|sort }} {{ ['b', 'A', 'c']|sort(case_sensitive=true) }} {{ users|sort(attribute='age', reverse=true)|map(attribute='n')|join }}", {"users": [{"n": "a", "age": 3}, {"n": "b", "age": 9}, {"n": "c", "age": 3}]}),
    ("filter_indent", "[{{ 'a\\nb\\n\\nc'|indent }}] [{{ 'a\\nb'|indent(2, true) }}] [{{ 'a\\n\\nb'|indent(width='> ', blank=true) }}]", {}),
    ("filter_escape_safe", "{{ '<a href=\"x\">&\\'</a>'|e }} {{ '<b>'|escape }} {{ '<i>'|safe }}", {}),
    ("filter_string_min_max_sum", "{{ 12|string ~ 3 }} {{ [3, 1, 2]|min }} {{ [3, 1, 2]|max }} {{ [1, 2, 3]|sum }} {{ users|sum(attribute='age') }} {{ ['b', 'A']|max }}", {"users": [{"age": 3}, {"age": 4}]}),
    ("filter_batch_center", "{{ [1, 2, 3, 4, 5]|batch(2)|list }} {{ [1, 2, 3]|batch(2, 0)|list }} [{{ 'ab'|center(7) }}]", {}),
    ("filter_wordcount_attr", "{{ 'a b  c'|wordcount }} {{ ns|attr('x') }}", {"ns": {"x": 1}}),
    # methods
    ("str_methods", "{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ 'xhix'.strip('x') }} {{ '  l'.lstrip() }} {{ 'r  '.rstrip() }}|{{ 'abc'.startswith('a') }} {{ 'abc'.endswith(('x', 'c')) }} {{ 'Hello'.upper() }} {{ 'Hello'.lower() }} {{ 'hello world'.title() }} {{ 'aXa'.replace('a', 'b') }} {{ 'banana'.count('an') }} {{ 'banana'.find('na') }} {{ 'banana'.rfind('na') }} {{ 'banana'.find('x') }}", {}),
    ("str_methods_more", "{{ '-'.join(['a', 'b']) }} {{ '{} and {}'.format('x', 1) }} {{ '{0}{0}{name}'.format('r', name='n') }} {{ 'abc'.capitalize() }} {{ '12'.isdigit() }} {{ 'a\\nb\\r\\nc'.splitlines() }} {{ 'prefix-x'.removeprefix('prefix-') }}", {}),
    ("think_split", "{% set c = m.split('</think>')[-1].lstrip('\\n') %}{% set r = m.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}[{{ c }}][{{ r }}]", {"m": "<think>\nreason\n</think>\n\nanswer"}),
    ("dict_methods", "{{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }} {{ d.get('a') }} {% for k, v in d.items() %}{{ k }}{{ v }}{% endfor %}", {"d": {"a": 1, "b": [2]}}),
    ("list_methods", "{{ [1, 2, 1].count(1) }} {{ ['a', 'b'].index('b') }}", {}),
    ("dict_literal_and_access", "{% set d = {'a': 1, 'b': {'c': [1, 2]}} %}{{ d.b.c[1] }} {{ d['b']['c'] }} {{ {1: 'x', 1.0: 'y'} }} {{ {'a': 1}|length }}", {}),
    ("json_like_values_input", "{{ v.t }} {{ v.f }} {{ v.n }} {{ v.i }} {{ v.x }} {{ v.l }} {{ v.o }}", {"v": {"t": True, "f": False, "n": None, "i": 7, "x": 7.25, "l": [1, "2"], "o": {"k": "v"}}}),
    # syntax errors (line numbers)
    ("syntax_unclosed_if", "line1\n{% if x %}\nbody", {}),
    ("syntax_unknown_filter", "{{ x|nosuchfilter }}", {}),
    ("syntax_unknown_tag", "a\nb\n{% frobnicate %}", {}),
    ("syntax_bad_expression", "{{ 1 + }}", {}),
    ("syntax_unbalanced", "{{ (1 + 2 }}", {}),
    ("syntax_unclosed_comment", "a {# never closed", {}),
    ("syntax_unknown_test", "{{ x is frobbed }}", {}),
]


def engine_cases(env):
    cases = []
    for cid, source, variables in ENGINE_CASES:
        case = {"id": cid, "template": source, "variables": variables}
        case.update(render(env, source, variables))
        cases.append(case)
    return {"generator": "tools/chat_templates/render_reference.py", "jinja2": jinja2.__version__,
            "fixed_now": FIXED_NOW.isoformat(), "cases": cases}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", default=os.path.join(REPO, "..", "shared", "fixtures"))
    args = ap.parse_args()
    env = make_env()
    for name, data in (("expected.json", chat_cases(env, args.fixtures)), ("engine-cases.json", engine_cases(env))):
        with open(os.path.join(OUT_DIR, name), "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.write("\n")
        print(f"wrote {name}: {len(data['cases'])} cases")


if __name__ == "__main__":
    main()
