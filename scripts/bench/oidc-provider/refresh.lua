-- wrk script for the refresh_token grant with rotating refresh tokens (scripts/oidc-bench).
--
--   wrk -t2 -c32 -s refresh.lua URL -- TOKENS_FILE THREADS BASIC_CREDENTIALS
--
-- TOKENS_FILE holds one refresh token a line, each the head of its own chain (grant). Thread i
-- takes lines i, i+THREADS, ... into a queue. request() takes the oldest token off the queue;
-- response() puts the refresh_token the answer carries back on it, so every token is used
-- exactly once and each request uses the latest token of its chain (a replay would revoke the
-- family and answer 400 invalid_grant). A chain whose request fails is dropped; the queue must
-- hold more tokens than the thread has connections (scripts/oidc-bench checks CHAINS >= 2 x
-- connections), else a request finds no token and is sent with an invalid one (counted as
-- "starved", and as a non-2xx answer).
--
-- RATE=N (environment) paces the run at about N requests/s in all: each thread hands out send
-- slots THREADS/N seconds apart through wrk's delay() (whole milliseconds, so sends are early
-- by under 1 ms but the average rate is exact). Latency is wrk's: from the write of a request
-- to its answer, not from its slot, so it is not corrected for coordinated omission; that holds
-- while connections are idle when their slot comes (the script prints the achieved rate).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  queue, head, tail = {}, 1, 0
  local i = 0
  for line in io.lines(file) do
    if line ~= "" then
      if i % nthreads == id then
        tail = tail + 1
        queue[tail] = line
      end
      i = i + 1
    end
  end
  chains = tail
  dropped, starved, ok = 0, 0, 0
  headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Basic " .. args[3],
  }
end

function request()
  local token = "starved"
  if queue ~= nil then
    if head <= tail then
      token = queue[head]
      queue[head] = nil
      head = head + 1
    else
      starved = starved + 1
    end
  end
  return wrk.format("POST", nil, headers or {}, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, _, body)
  local token = status == 200 and body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if token then
    ok = ok + 1
    tail = tail + 1
    queue[tail] = token
  else
    dropped = dropped + 1
  end
end

local rate = tonumber(os.getenv("RATE") or "0")
if rate > 0 then
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_usec; } bench_timeval;
    int gettimeofday(bench_timeval *tv, void *tz);
  ]]
  local tv = ffi.new("bench_timeval")
  local function now_ms()
    ffi.C.gettimeofday(tv, nil)
    return tonumber(tv.tv_sec) * 1000 + tonumber(tv.tv_usec) / 1000
  end
  local slot
  function delay()
    local interval = tonumber(os.getenv("THREADS") or "2") * 1000 / rate
    local now = now_ms()
    slot = (slot or now) + interval
    local wait = slot - now
    if wait < 0 then return 0 end
    return math.floor(wait)
  end
end

function done(summary)
  local c, okay, d, s = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("chains")
    okay = okay + t:get("ok")
    d = d + t:get("dropped")
    s = s + t:get("starved")
  end
  io.write(string.format("refresh: %d chains, %d rotations, %d chains dropped (non-200), %d starved requests\n", c, okay, d, s))
  if rate > 0 then
    io.write(string.format("paced: target %d req/s, achieved %.1f req/s\n", rate, summary.requests / (summary.duration / 1e6)))
  end
end
