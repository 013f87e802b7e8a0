# Plots of a benchmark run (gnuplot, Debian package gnuplot-nox).
#
#   gnuplot -e "dir='bench/results/DATE'" bench/plot.gp
#
# Reads the .dat files bench/harness.py writes in dir and writes there:
#   latency.png  p50 and p99 of acked emits against the offered rate
#   rss.png      server RSS against idle connections open
#   slow.png     server RSS over time while one client stops reading
#   recovery.png sioc's RSS under churn, connection state recovery on and off
# each with sioc, Node and, when the run has it, the floor peer (recovery.png: sioc alone).

if (!exists("dir")) dir = "."
# 1 when the data file has a data line (a partial run leaves some empty)
has(f) = system("grep -qv '^#' '".dir."/".f."' 2>/dev/null && echo 1 || echo 0") + 0

set terminal pngcairo size 900,560 enhanced font "DejaVu Sans,11"
set grid
set key top left
sioc = "#1f77b4"
node = "#d62728"
floor = "#2ca02c"
# the floor peer's lines are drawn only when its file has data (runs before
# it existed, or without it, have none): a missing file would be a warning
lines(f, spec) = has(f) ? sprintf(", '%s/%s' %s", dir, f, spec) : ""

if (has("latency-sioc.dat") + has("latency-node.dat") + has("latency-floor.dat") > 0) {
set output dir."/latency.png"
set title "Acked echo round trip, 1000 clients (server on 1 CPU)"
set xlabel "offered rate (emits/s)"
set ylabel "latency (ms)"
set logscale y
set format x "%.0f"
set format y "%g"
set arrow 1 from graph 0, first 10 to graph 1, first 10 nohead dashtype 3 lc rgb "gray40"
set arrow 2 from graph 0, first 1 to graph 1, first 1 nohead dashtype 3 lc rgb "gray70"
eval("plot dir.'/latency-sioc.dat' using 1:4 with linespoints lw 2 pt 7 lc rgb sioc title 'sioc p99', " . \
     "dir.'/latency-sioc.dat' using 1:3 with linespoints lw 1 pt 6 dt 2 lc rgb sioc title 'sioc p50', " . \
     "dir.'/latency-node.dat' using 1:4 with linespoints lw 2 pt 5 lc rgb node title 'Node p99', " . \
     "dir.'/latency-node.dat' using 1:3 with linespoints lw 1 pt 4 dt 2 lc rgb node title 'Node p50'" . \
     lines("latency-floor.dat", "using 1:4 with linespoints lw 2 pt 9 lc rgb floor title 'floor p99'") . \
     lines("latency-floor.dat", "using 1:3 with linespoints lw 1 pt 8 dt 2 lc rgb floor title 'floor p50'"))
unset arrow 1
unset arrow 2
unset logscale y
}

if (has("rss-sioc.dat") + has("rss-node.dat") + has("rss-floor.dat") > 0) {
set autoscale xfix
set output dir."/rss.png"
set title "Server RSS with idle websocket clients"
set xlabel "connections open"
set ylabel "RSS (MB)"
set yrange [0:*]
eval("plot dir.'/rss-sioc.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb sioc title 'sioc', " . \
     "dir.'/rss-node.dat' using 1:2 with linespoints lw 2 pt 5 ps 0.6 lc rgb node title 'Node'" . \
     lines("rss-floor.dat", "using 1:2 with linespoints lw 2 pt 9 ps 0.6 lc rgb floor title 'floor'"))
}

if (has("slow-sioc.dat") + has("slow-node.dat") + has("slow-floor.dat") > 0) {
set output dir."/slow.png"
set title "Server RSS while one client of a broadcast stops reading"
set xlabel "seconds since the broadcast started"
set ylabel "RSS (MB)"
set yrange [0:*]
eval("plot dir.'/slow-sioc.dat' using 1:2 with lines lw 2 lc rgb sioc title 'sioc', " . \
     "dir.'/slow-node.dat' using 1:2 with lines lw 2 lc rgb node title 'Node'" . \
     lines("slow-floor.dat", "using 1:2 with lines lw 2 lc rgb floor title 'floor'"))
}

if (has("recovery-rss.dat")) {
set output dir."/recovery.png"
set title "sioc's RSS under churn (10 % of the clients drop and come back each second)"
set xlabel "seconds since the broadcast started"
set ylabel "RSS (MB)"
set yrange [0:*]
plot dir.'/recovery-rss.dat' using 1:2 with lines lw 2 lc rgb sioc title 'recovery on', \
     dir.'/recovery-rss.dat' using 1:3 with lines lw 2 dt 2 lc rgb node title 'recovery off'
}
