// Lua 5.4 (the sources shipped in the lua-src crate, built with lua/config.h forced in) running an
// embedded script: recursive calls, integer and float loops, tables as arrays and hash maps, sorting
// with a comparator, metatables and methods, closures, string building, formatting and patterns.
// Usage: lua_bench [rounds] (default 6). Prints a line once the script is compiled, then the script's
// checksum.
#include <stdio.h>
#include <stdlib.h>
#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

static const char *script =
    "local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end\n"
    "\n"
    "local Vec = {}\n"
    "Vec.__index = Vec\n"
    "function Vec.new(x, y) return setmetatable({ x = x, y = y }, Vec) end\n"
    "function Vec.__add(a, b) return Vec.new(a.x + b.x, a.y + b.y) end\n"
    "function Vec:dot(o) return self.x * o.x + self.y * o.y end\n"
    "\n"
    "local function numeric(n)\n"
    "  local acc, f = 0, 0.0\n"
    "  for i = 1, n do\n"
    "    acc = (acc + i * i % 7 + (i ~ (i >> 3))) % 1000000007\n"
    "    f = f + math.sqrt(i) / (1 + i % 13)\n"
    "  end\n"
    "  return acc, f\n"
    "end\n"
    "\n"
    "local function tables(n, seed)\n"
    "  local a, x = {}, seed\n"
    "  for i = 1, n do x = (x * 1103515245 + 12345) % 2147483648; a[i] = x % 100000 end\n"
    "  table.sort(a, function(p, q) return p > q end)\n"
    "  local counts, distinct = {}, 0\n"
    "  for i = 1, n do\n"
    "    local k = 'k' .. (a[i] % 5000)\n"
    "    local c = counts[k]\n"
    "    if c then counts[k] = c + 1 else counts[k] = 1; distinct = distinct + 1 end\n"
    "  end\n"
    "  local sum = 0\n"
    "  for k, c in pairs(counts) do sum = sum + c * #k end\n"
    "  local q = {}\n"
    "  for i = 1, n // 4 do table.insert(q, a[i]) end\n"
    "  while #q > n // 8 do sum = sum + table.remove(q) end\n"
    "  local v = Vec.new(0, 0)\n"
    "  for i = 1, n // 4 do v = v + Vec.new(i % 17, i % 23) end\n"
    "  return a[1] + a[n] + distinct + sum + v:dot(Vec.new(3, 5))\n"
    "end\n"
    "\n"
    "local function strings(n)\n"
    "  local parts = {}\n"
    "  for i = 1, n do parts[#parts + 1] = string.format('%05d:%s', i * 37 % 99991, ('ab'):rep(i % 5)) end\n"
    "  local text = table.concat(parts, ',')\n"
    "  local digits = 0\n"
    "  for d in text:gmatch('%d+') do digits = digits + #d end\n"
    "  local swapped, subs = text:gsub('(%d)(ab)', '%2%1')\n"
    "  local upper = swapped:upper()\n"
    "  local hits, pos = 0, 1\n"
    "  while true do\n"
    "    local s, e = upper:find('BA', pos, true)\n"
    "    if not s then break end\n"
    "    hits = hits + 1; pos = e + 1\n"
    "  end\n"
    "  local h = 0\n"
    "  for i = 1, #text, 7 do h = (h * 31 + text:byte(i)) % 1000000007 end\n"
    "  local counter = 0\n"
    "  local function bump(k) return function() counter = counter + k end end\n"
    "  for i = 1, n do bump(i % 3)() end\n"
    "  return #text + digits + subs + hits + h + counter\n"
    "end\n"
    "\n"
    "function run(rounds)\n"
    "  local checksum, fsum = 0, 0.0\n"
    "  for r = 1, rounds do\n"
    "    local acc, f = numeric(300000)\n"
    "    checksum = (checksum * 31 + fib(22 + r % 3) + acc + tables(40000, r) + strings(20000)) % 1000000007\n"
    "    fsum = fsum + f\n"
    "  end\n"
    "  return string.format('%d %.6f', checksum, fsum)\n"
    "end\n";

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 6;
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    if (luaL_loadstring(L, script) != LUA_OK || lua_pcall(L, 0, 0, 0) != LUA_OK) {
        printf("script error: %s\n", lua_tostring(L, -1));
        return 1;
    }
    // The first output comes once the libraries are open and the script compiled (see --first-output).
    printf("lua ready\n");
    fflush(stdout);
    lua_getglobal(L, "run");
    lua_pushinteger(L, rounds);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        printf("run error: %s\n", lua_tostring(L, -1));
        return 1;
    }
    printf("lua %s: %d rounds, checksum %s\n", LUA_RELEASE, rounds, lua_tostring(L, -1));
    lua_close(L);
    return 0;
}
