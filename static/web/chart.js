// The candlestick chart with volume (TradingView Lightweight Charts, vendored), fed from the REST
// candles and kept current by the trades of the market stream.
import { createChart, CandlestickSeries, HistogramSeries, ColorType } from "../vendor/lightweight-charts/lightweight-charts.standalone.production.mjs";
import { api } from "./util.js";

const SECONDS = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400 };
const UP = "#0ecb81", DOWN = "#f6465d";

// A few candles are drawn at this spacing (pixels per bar) from the left, with room on the right
// for the last time label, rather than stretched over the whole width.
const FEW_BAR_SPACING = 12;
const RIGHT_OFFSET = 4;

/** Chart times are UTC seconds: label them in the reader's own time zone and format. */
function localTick(time, kind) {
  const d = new Date(time * 1000);
  switch (kind) {
    case 0: return String(d.getFullYear()); // year
    case 1: return d.toLocaleDateString([], { month: "short" }); // month
    case 2: return d.toLocaleDateString([], { day: "numeric", month: "short" }); // day
    case 4: return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    default: return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
}

function localTime(time) {
  return new Date(time * 1000).toLocaleString([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

export class CandleChart {
  /** options.tickSize: the market's tick, for the price scale's precision and the least range. */
  constructor(element, symbol, { tickSize = "0.01" } = {}) {
    this.element = element;
    this.symbol = symbol;
    this.interval = "1m";
    this.last = null;
    this.count = 0;
    const decimals = tickSize.includes(".") ? tickSize.replace(/0+$/, "").split(".")[1].length : 0;
    this.tick = Number(tickSize);
    this.chart = createChart(element, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: "#161a1e" }, textColor: "#848e9c", fontSize: 11, attributionLogo: false },  // the logo injects a <style> (CSP); the page links TradingView instead
      grid: { vertLines: { color: "#1f242a" }, horzLines: { color: "#1f242a" } },
      rightPriceScale: { borderColor: "#2b3139" },
      timeScale: { borderColor: "#2b3139", timeVisible: true, secondsVisible: false, maxBarSpacing: 16,
        rightOffset: RIGHT_OFFSET, tickMarkFormatter: localTick },
      localization: { timeFormatter: localTime },
      crosshair: { mode: 0 },
    });
    this.candles = this.chart.addSeries(CandlestickSeries, {
      upColor: UP, downColor: DOWN, borderVisible: false, wickUpColor: UP, wickDownColor: DOWN,
      // The last price stays labelled on the scale; a line across the chart would hide a flat candle.
      priceLineVisible: false,
      priceFormat: { type: "price", precision: decimals, minMove: this.tick },
      // One trade makes a candle with no height: give the scale a sensible span around it.
      autoscaleInfoProvider: (original) => this.framePrices(original()),
    });
    this.volume = this.chart.addSeries(HistogramSeries, { priceFormat: { type: "volume" }, priceScaleId: "", lastValueVisible: false, priceLineVisible: false });
    this.volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    this.candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.25 } });
  }

  /** The price range to show: the candles' own, widened to at least 0.5 % of the price (and 20
   * ticks) so that a flat market is a line in the middle of a readable scale, not a hairline
   * stretched from top to bottom. */
  framePrices(info) {
    if (!info || !info.priceRange) return info;
    const { minValue, maxValue } = info.priceRange;
    const least = Math.max(Math.abs(maxValue) * 0.005, this.tick * 20);
    if (maxValue - minValue >= least) return info;
    const mid = (minValue + maxValue) / 2;
    return { ...info, priceRange: { minValue: mid - least / 2, maxValue: mid + least / 2 } };
  }

  /** A young market has few candles: draw them at a readable spacing with room on the right for
   * the last time label; with many, follow the newest at the chart's own spacing. */
  frame() {
    const timeScale = this.chart.timeScale();
    const width = timeScale.width() || this.element.clientWidth || 600;
    if (this.count && (this.count + RIGHT_OFFSET) * FEW_BAR_SPACING < width) timeScale.applyOptions({ barSpacing: FEW_BAR_SPACING });
    timeScale.scrollToRealTime();
  }

  async load(interval = this.interval) {
    this.interval = interval;
    const rows = await api(`markets/${this.symbol}/candles?interval=${interval}&limit=500`);
    if (interval !== this.interval) return; // switched again meanwhile
    const candles = rows.map((c) => ({
      time: Math.floor(Date.parse(c.open_time) / 1000),
      open: Number(c.open), high: Number(c.high), low: Number(c.low), close: Number(c.close), volume: Number(c.volume),
    })).sort((a, b) => a.time - b.time);
    this.candles.setData(candles.map(({ volume, ...c }) => c));
    this.volume.setData(candles.map((c) => this.volumeBar(c)));
    this.last = candles.length ? { ...candles[candles.length - 1] } : null;
    this.count = candles.length;
    this.frame();
    this.publish();
  }

  volumeBar(c) {
    return { time: c.time, value: c.volume, color: c.close >= c.open ? "rgba(14,203,129,.45)" : "rgba(246,70,93,.45)" };
  }

  /** A trade from the market stream: update the last candle, or open the next one. */
  addTrade(trade) {
    const step = SECONDS[this.interval];
    const t = Math.floor(Date.parse(trade.ts) / 1000);
    const bucket = t - (t % step);
    const price = Number(trade.price), qty = Number(trade.quantity);
    if (this.last && bucket < this.last.time) return; // older than the chart: the REST candles have it
    if (this.last && bucket === this.last.time) {
      this.last.high = Math.max(this.last.high, price);
      this.last.low = Math.min(this.last.low, price);
      this.last.close = price;
      this.last.volume += qty;
    } else {
      this.last = { time: bucket, open: price, high: price, low: price, close: price, volume: qty };
      this.count += 1;
      if (this.count <= 2) requestAnimationFrame(() => this.frame()); // the first candles: frame them
    }
    const { volume, ...candle } = this.last;
    this.candles.update(candle);
    this.volume.update(this.volumeBar(this.last));
    this.publish();
  }

  publish() {
    // For people with assistive tech and for the tests: the last candle in text.
    this.element.dataset.lastCandle = this.last ? JSON.stringify(this.last) : "";
  }
}
