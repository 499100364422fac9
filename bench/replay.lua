-- wrk script: replay pre-signed iKhokha callbacks from a file of `IK-SIGN<TAB>body` lines.
-- Usage: wrk -t T -c C -d D -s replay.lua URL -- FILE PATH APP_ID T
-- Thread k sends lines k, k+T, k+2T, ... in order, so no two connections send the same callback
-- until a thread has been through its whole share (counted in "wrapped": a first-delivery run
-- must end with wrapped = 0, or some of its "first" deliveries were repeats).
-- done() prints one line, WRK_JSON {...}, with req/s, latency percentiles and status codes.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads = args[1], tonumber(args[4])
  req_path, req_appid = args[2], args[3]
  lines, pos, wrapped, codes = {}, 0, 0, {}
  local index = 0
  for line in io.lines(file) do
    if index % nthreads == id then
      local tab = line:find("\t", 1, true)
      lines[#lines + 1] = { line:sub(1, tab - 1), line:sub(tab + 1) }
    end
    index = index + 1
  end
end

function request()
  pos = pos + 1
  if pos > #lines then
    pos, wrapped = 1, wrapped + 1
  end
  local item = lines[pos]
  return wrk.format("POST", req_path, {
    ["Content-Type"] = "application/json", ["IK-APPID"] = req_appid, ["IK-SIGN"] = item[1],
  }, item[2])
end

function response(status, headers, body)
  local key = tostring(status)
  codes[key] = (codes[key] or 0) + 1
end

function done(summary, latency, requests)
  local total, wraps, parts = {}, 0, {}
  for _, thread in ipairs(threads) do
    for key, count in pairs(thread:get("codes")) do
      total[key] = (total[key] or 0) + count
    end
    wraps = wraps + thread:get("wrapped")
  end
  for key, count in pairs(total) do
    parts[#parts + 1] = string.format('"%s":%d', key, count)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"mean_us":%.1f,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,'
      .. '"non_2xx":%d,"wrapped":%d,"codes":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.timeout,
    e.status, wraps, table.concat(parts, ",")))
end
