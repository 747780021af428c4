-- wrk script of make bench (benchmarks/throughput.py): prepared requests, one each.
--
--   wrk -t1 -cN -dCAPs -s wrk_requests.lua URL -- FILE COUNT [MARK]
--
-- FILE holds one request a line, "PATH<TAB>AUTHORIZATION<TAB>CONTENT-TYPE<TAB>BODY"
-- (AUTHORIZATION may be "-" for none). The requests are sent in order, each once; at the
-- COUNT-th response the thread stops and prints "TWOFA-BENCH-DONE", and throughput.py
-- interrupts wrk (SIGINT) at once: wrk's main thread would otherwise sleep out all of -d,
-- and the duration it reports is its whole run. The file holds spares: one per
-- connection (in flight when the count is reached) and one more, because wrk calls
-- request() once before the run to check what it returns (that line is never sent). COUNT 0 cycles the file
-- until wrk's -d runs out. MARK, when given, is a plain string: responses whose body holds
-- it are counted ("marked"), so a 200 that says "false" is told from one that says "true".
-- done() prints one line for throughput.py: "TWOFA-BENCH" and the figures as JSON.

local requests = {}
local count = 0
local next_index = 1
local responses = 0
local mark = nil
local finished = false
statuses = {}
marked = 0

function init(args)
   local file = assert(io.open(args[1], "r"))
   for line in file:lines() do
      local path, authorization, content_type, body =
         line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = { ["Content-Type"] = content_type }
      if authorization ~= "-" then
         headers["Authorization"] = authorization
      end
      requests[#requests + 1] = wrk.format("POST", path, headers, body)
   end
   file:close()
   count = tonumber(args[2])
   if args[3] ~= nil and args[3] ~= "" then
      mark = args[3]
   end
end

function request()
   if next_index > #requests then
      if count > 0 then
         -- Out of spares: stop rather than send one twice (what goes out now is the last
         -- line again; its answer, if it comes, shows as unexpected).
         wrk.thread:stop()
         return requests[#requests]
      end
      next_index = 1
   end
   local prepared = requests[next_index]
   next_index = next_index + 1
   return prepared
end

function response(status, headers, body)
   if finished then
      return
   end
   statuses[status] = (statuses[status] or 0) + 1
   if mark ~= nil and body ~= nil and string.find(body, mark, 1, true) then
      marked = marked + 1
   end
   responses = responses + 1
   if count > 0 and responses >= count then
      finished = true
      io.write("TWOFA-BENCH-DONE\n")
      io.flush()
      wrk.thread:stop()
   end
end

local threads = {}

function setup(thread)
   threads[#threads + 1] = thread
end

function done(summary, latency, requests_made)
   local seen = {}
   local marks = 0
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         seen[#seen + 1] = string.format('"%d": %d', status, n)
      end
      marks = marks + thread:get("marked")
   end
   local errors = summary.errors
   io.write(string.format(
      'TWOFA-BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
         .. '"max_us": %d, "statuses": {%s}, "marked": %d, "errors": {"connect": %d, '
         .. '"read": %d, "write": %d, "timeout": %d}}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      latency.max, table.concat(seen, ", "), marks, errors.connect, errors.read, errors.write,
      errors.timeout))
end
