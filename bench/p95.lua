-- wrk script for bench/common.py: after the run, print the latency percentiles it reads
-- (microseconds), p95 among them, which wrk's own --latency table leaves out.
done = function(summary, latency, requests)
  for _, p in ipairs({50, 95, 99}) do
    io.write(string.format("bench-percentile %d %d\n", p, latency:percentile(p)))
  end
end
