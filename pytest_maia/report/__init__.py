"""Reports people look at: the timeline data and JSON, the HTML/SVG rendering, GitHub
Actions output and the live progress line. Plain Python; the plugin only wires them."""
