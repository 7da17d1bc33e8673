-- wrk script for bench/release.ts: every request draws a tile path uniformly at random from the
-- fixed list (one path per line in the file named by TILE_LIST), with Accept-Encoding: gzip and,
-- when TILE_TOKEN is set, the bearer token the working tiles need; at the end, one JSON line with
-- the figures the benchmark reports (as bench/tiles.lua).
local paths = {}
for line in io.lines(os.getenv("TILE_LIST")) do paths[#paths + 1] = line end
math.randomseed(2015)
local token = os.getenv("TILE_TOKEN")

request = function()
  local headers = { ["Accept-Encoding"] = "gzip" }
  if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("GET", paths[math.random(#paths)], headers)
end

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format('{"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"errors":%d,"bytes":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), errors, summary.bytes))
end
