-- wrk script for bench/http-bench.sh: random users / items from the generated log (ids u0…, i0…).
-- BENCH_TARGET selects the endpoint: recommendations | similar | healthz.
local target = os.getenv("BENCH_TARGET") or "recommendations"
local users = tonumber(os.getenv("BENCH_USERS") or "20000")
local items = tonumber(os.getenv("BENCH_ITEMS") or "20000")
local k = os.getenv("BENCH_K") or "10"
local n = 0

request = function()
  n = n + 1
  -- A cheap deterministic scramble (no math.random state shared across wrk threads needed).
  local r = (n * 2654435761) % 4294967296
  if target == "similar" then
    return wrk.format("GET", "/items/i" .. (r % items) .. "/similar?k=" .. k)
  elseif target == "healthz" then
    return wrk.format("GET", "/healthz")
  end
  return wrk.format("GET", "/users/u" .. (r % users) .. "/recommendations?k=" .. k)
end
