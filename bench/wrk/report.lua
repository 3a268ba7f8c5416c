-- wrk script of the bench (bench/load.py writes its input and reads its output).
--
-- Input: BENCH_REQUESTS names a file of requests, one per line, tab-separated:
--   label  METHOD  path  headers  body
-- where headers are "Name: value" pairs joined by "|" and body may be empty. Each wrk
-- thread walks the list in order from its own offset, so a list shuffled with the mix
-- wanted (90 reads for 10 writes, say) is sent in that mix. BENCH_OFFSET (default 0)
-- moves every thread's start, so that a run can go on where the previous one stopped
-- (writes are then new writes, not repeats).
--
-- Output: one line "BENCH_JSON {...}" after wrk's own report, with the latency
-- percentiles (microseconds), the requests, socket errors, the count of each status code,
-- each X-Cache value (hit, miss, bypass) and, per label, the count of answers and of
-- non-2xx/3xx answers. Brisk echoes the X-Request-ID it is sent, which carries the label,
-- so each answer is counted against the request it answers.

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

local function split_headers(text)
  local headers = {}
  for pair in string.gmatch(text, "[^|]+") do
    local name, value = string.match(pair, "^([^:]+):%s*(.*)$")
    if name then
      headers[name] = value
    end
  end
  return headers
end

function init(args)
  local path = os.getenv("BENCH_REQUESTS")
  requests_list = {}
  for line in io.lines(path) do
    local label, method, target, header_text, body = string.match(line, "^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    if label then
      local headers = split_headers(header_text)
      headers["X-Request-ID"] = "bench." .. label
      if body == "" then
        body = nil
      end
      table.insert(requests_list, wrk.format(method, target, headers, body))
    end
  end
  if #requests_list == 0 then
    error("no requests in " .. tostring(path))
  end
  position = (tonumber(os.getenv("BENCH_OFFSET") or "0") + thread_index * 7919) % #requests_list
  statuses = {}
  cache = {}
  labels = {}
  label_errors = {}
end

function request()
  position = position % #requests_list + 1
  return requests_list[position]
end

local function bump(counts, key)
  counts[key] = (counts[key] or 0) + 1
end

function response(status, headers, body)
  bump(statuses, tostring(status))
  local x_cache = headers["X-Cache"] or headers["x-cache"]
  if x_cache then
    bump(cache, x_cache)
  end
  local rid = headers["X-Request-ID"] or headers["x-request-id"] or ""
  local label = string.match(rid, "^bench%.(.+)$") or "?"
  bump(labels, label)
  if status >= 400 then
    bump(label_errors, label)
  end
end

local function merge(into, from)
  for key, value in pairs(from or {}) do
    into[key] = (into[key] or 0) + value
  end
end

local function encode(counts)
  local parts = {}
  for key, value in pairs(counts) do
    table.insert(parts, string.format("%q:%d", key, value))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local all = { statuses = {}, cache = {}, labels = {}, label_errors = {} }
  for _, thread in ipairs(threads) do
    for name, counts in pairs(all) do
      merge(counts, thread:get(name))
    end
  end
  local percentiles = {}
  for _, p in ipairs({ 50, 75, 90, 95, 99, 99.9 }) do
    table.insert(percentiles, string.format('"%s":%d', tostring(p), latency:percentile(p)))
  end
  io.write(
    string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"latency_us":{%s,"mean":%.1f,"max":%d},'
        .. '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},'
        .. '"statuses":%s,"cache":%s,"labels":%s,"label_errors":%s}\n',
      summary.requests,
      summary.duration,
      summary.bytes,
      table.concat(percentiles, ","),
      latency.mean,
      latency.max,
      summary.errors.connect,
      summary.errors.read,
      summary.errors.write,
      summary.errors.timeout,
      encode(all.statuses),
      encode(all.cache),
      encode(all.labels),
      encode(all.label_errors)
    )
  )
end
