-- wrk script: each request is `depth` pipelined GET /plaintext (default 16), as in the TechEmpower pipelined load.
-- wrk -t1 -c64 -d5s -s pipeline.lua http://127.0.0.1:9103/plaintext -- 16
init = function(args)
  local depth = tonumber(args[1]) or 16
  local r = {}
  for i = 1, depth do r[i] = wrk.format(nil) end
  req = table.concat(r)
end

request = function()
  return req
end
