-- wrk script for the gateway scenarios: a fixed number of responses per thread,
-- a unique idempotency key per request (__KEY__), a distinct intent per request
-- (__ID__, from a file, split between threads), and each answer checked.
-- Arguments after `--`: template_file per_thread_count nonce expect api_key ids_file threads
local ffi = require("ffi")
ffi.cdef [[ typedef struct { long tv_sec; long tv_nsec; } nb_timespec; int clock_gettime(int, nb_timespec *); ]]
local ts = ffi.new("nb_timespec")
local function now() -- CLOCK_MONOTONIC: wrk's own duration runs to -d, not to the last answer
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

local threads = {}
local next_tid = 1

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1], "r"))
  template = f:read("*a")
  f:close()
  limit = tonumber(args[2])
  nonce = args[3]
  expect = args[4]
  headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. args[5] }
  has_key = string.find(template, "__KEY__", 1, true) ~= nil
  ids = {}
  if args[6] ~= nil and args[6] ~= "-" then
    local n, nthreads = 0, tonumber(args[7])
    for line in io.lines(args[6]) do
      if n % nthreads == tid - 1 then table.insert(ids, line) end
      n = n + 1
    end
  end
  if not has_key and #ids == 0 then
    fixed = wrk.format("POST", "/graphql", headers, template)
  end
  sent, answered, bad = 0, 0, 0
end

function request()
  if fixed ~= nil then
    if t_first == nil then t_first = now() end
    return fixed
  end
  sent = sent + 1
  if t_first == nil then t_first = now() end
  local b = template
  if has_key then b = string.gsub(b, "__KEY__", nonce .. "-" .. tid .. "-" .. sent) end
  if #ids > 0 then b = string.gsub(b, "__ID__", ids[((sent - 1) % #ids) + 1]) end
  return wrk.format("POST", "/graphql", headers, b)
end

function response(status, hdrs, body)
  answered = answered + 1
  if status ~= 200 or string.find(body, expect, 1, true) == nil or string.find(body, '"errors"', 1, true) ~= nil then
    bad = bad + 1
    if first_bad == nil then first_bad = status .. " " .. string.sub(body, 1, 400) end
  end
  if answered == limit then
    t_last = now()
    -- run.py sends SIGINT once every thread has said this: wrk would otherwise sleep out -d.
    io.stderr:write("BENCH_THREAD_DONE\n")
    io.stderr:flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local bad_total, sample, first, last, answered_total = 0, "", nil, nil, 0
  for _, t in ipairs(threads) do
    local a, b = t:get("t_first"), t:get("t_last")
    if a ~= nil and (first == nil or a < first) then first = a end
    if b ~= nil and (last == nil or b > last) then last = b end
    answered_total = answered_total + (t:get("answered") or 0)
    bad_total = bad_total + (t:get("bad") or 0)
    local s = t:get("first_bad")
    if s ~= nil then sample = s end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bad":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    answered_total, ((last or 0) - (first or 0)) * 1e6, bad_total, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
  if sample ~= "" then io.stderr:write("BENCH_BAD " .. sample .. "\n") end
end
