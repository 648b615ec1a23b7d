// QuickJS (quickjs-ng, the sources shipped in the rquickjs-sys crate) running a JavaScript workload:
// object allocation, property access, closures, strings, arrays and sorting, and JSON. Usage:
// quickjs_bench [rounds]. Prints a line once the script is compiled, then the script's result.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "quickjs.h"

static const char *script =
    "function run(rounds) {\n"
    "  let checksum = 0;\n"
    "  for (let r = 0; r < rounds; r++) {\n"
    "    const points = [];\n"
    "    for (let i = 0; i < 2000; i++) points.push({ x: (i * 7919) % 1000, y: (i * 104729) % 997, id: 'p' + i });\n"
    "    points.sort((a, b) => a.x - b.x || a.y - b.y);\n"
    "    const byKey = new Map();\n"
    "    for (const p of points) {\n"
    "      const key = (p.x >> 4) + ':' + (p.y >> 4);\n"
    "      byKey.set(key, (byKey.get(key) || 0) + 1);\n"
    "    }\n"
    "    let words = [];\n"
    "    for (let i = 0; i < 500; i++) words.push(('w' + (i * 31 % 97)).repeat(1 + i % 3));\n"
    "    const text = words.join(' ');\n"
    "    const counts = {};\n"
    "    for (const w of text.split(' ')) counts[w] = (counts[w] || 0) + 1;\n"
    "    const json = JSON.stringify({ points: points.slice(0, 200), counts });\n"
    "    const back = JSON.parse(json);\n"
    "    let fib = n => n < 2 ? n : fib(n - 1) + fib(n - 2);\n"
    "    checksum = (checksum * 31 + byKey.size + back.points.length + Object.keys(back.counts).length\n"
    "                + fib(18) + json.length) % 1000000007;\n"
    "  }\n"
    "  return checksum;\n"
    "}\n";

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 40;
    JSRuntime *rt = JS_NewRuntime();
    JSContext *ctx = JS_NewContext(rt);
    JSValue v = JS_Eval(ctx, script, strlen(script), "<bench>", JS_EVAL_TYPE_GLOBAL);
    if (JS_IsException(v)) {
        printf("script error\n");
        return 1;
    }
    JS_FreeValue(ctx, v);
    // The first output comes once the engine is up and the script compiled (see --first-output).
    printf("quickjs ready\n");
    fflush(stdout);
    char call[64];
    snprintf(call, sizeof call, "run(%d)", rounds);
    v = JS_Eval(ctx, call, strlen(call), "<call>", JS_EVAL_TYPE_GLOBAL);
    if (JS_IsException(v)) {
        JSValue e = JS_GetException(ctx);
        const char *s = JS_ToCString(ctx, e);
        printf("exception: %s\n", s ? s : "?");
        return 1;
    }
    const char *s = JS_ToCString(ctx, v);
    printf("checksum %s\n", s);
    JS_FreeCString(ctx, s);
    JS_FreeValue(ctx, v);
    JS_FreeContext(ctx);
    JS_FreeRuntime(rt);
    return 0;
}
