-- wrk script of bench/inference/load.py: optional POST body, status counts per class, a JSON summary.
--
--   wrk -t2 -c16 -d10s --latency -s bench/inference/load.lua URL                 (GET URL)
--   wrk -t2 -c16 -d10s --latency -s bench/inference/load.lua URL -- body.json    (POST body.json as JSON)
--
-- Every response goes through `response`, which counts it by status class in the thread's own Lua
-- state; `done` adds the threads' counts (thread:get) and prints one line, "LOADJSON {...}", with
-- wrk's own summary (requests, socket errors, non-2xx/3xx) and latency percentiles in microseconds.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counts = { ["2xx"] = 0, ["3xx"] = 0, ["4xx"] = 0, ["5xx"] = 0, other = 0 }
  if args[1] ~= nil then
    local handle = assert(io.open(args[1], "rb"))
    wrk.method = "POST"
    wrk.body = handle:read("*a")
    wrk.headers["Content-Type"] = "application/json"
    handle:close()
  end
end

function response(status, headers, body)
  local class = math.floor(status / 100)
  local key = (class >= 2 and class <= 5) and (class .. "xx") or "other"
  counts[key] = counts[key] + 1
end

function done(summary, latency, requests)
  local total = { ["2xx"] = 0, ["3xx"] = 0, ["4xx"] = 0, ["5xx"] = 0, other = 0 }
  for _, thread in ipairs(threads) do
    local counted = thread:get("counts")
    for key, value in pairs(counted) do
      total[key] = total[key] + value
    end
  end
  local e = summary.errors
  local fields = {
    string.format('"requests": %d', summary.requests),
    string.format('"duration_us": %d', summary.duration),
    string.format('"bytes": %d', summary.bytes),
    string.format('"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}',
                  e.connect, e.read, e.write, e.status, e.timeout),
    string.format('"statuses": {"2xx": %d, "3xx": %d, "4xx": %d, "5xx": %d, "other": %d}',
                  total["2xx"], total["3xx"], total["4xx"], total["5xx"], total.other),
    string.format('"latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "max": %d}',
                  latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max),
  }
  io.write("LOADJSON {" .. table.concat(fields, ", ") .. "}\n")
end
