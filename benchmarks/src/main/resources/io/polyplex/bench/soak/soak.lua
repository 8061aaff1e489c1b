-- The keep-alive part of the soak load (io.polyplex.bench.soak.Wrk runs it): wrk sends GET / on
-- every connection and checks each response against the exact body the demo server promises, and
-- waits a little between requests so that wrk takes a share of the machine rather than all of it.
-- Arguments after "--": the backend (the body names it) and the pause between requests in ms.
-- At the end it prints one line, "soak-lua: ok=N wrong=N refused=N first-wrong=...", which Wrk parses.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  expected = "hello from polyplex (" .. args[1] .. ")\n"
  pause = tonumber(args[2]) or 0
  ok, wrong, refused = 0, 0, 0
  first_wrong = ""
end

function delay()
  return pause
end

-- 200 with exactly the expected body is right; a 503 with an empty body is the server refusing a
-- connection past its limit (during a connection storm), which is correct behaviour; anything else
-- is a wrong body.
function response(status, headers, body)
  if status == 200 and body == expected then
    ok = ok + 1
  elseif status == 503 and (body == nil or body == "") then
    refused = refused + 1
  else
    wrong = wrong + 1
    if first_wrong == "" then
      -- control characters as \ddd, so the line stays one line
      local shown = string.gsub(string.sub(body or "", 1, 80), "%c", function(ch)
        return string.format("\\%03d", string.byte(ch))
      end)
      first_wrong = status .. " \"" .. shown .. "\""
    end
  end
end

function done(summary, latency, requests)
  local o, w, r, first = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    o = o + t:get("ok")
    w = w + t:get("wrong")
    r = r + t:get("refused")
    if first == "" then first = t:get("first_wrong") end
  end
  io.write(string.format("soak-lua: ok=%d wrong=%d refused=%d first-wrong=%s\n", o, w, r, first))
end
