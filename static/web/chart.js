// The candlestick chart with volume (TradingView Lightweight Charts, vendored), fed from the REST
// candles and kept current by the trades of the market stream.
import { createChart, CandlestickSeries, HistogramSeries, ColorType } from "../vendor/lightweight-charts/lightweight-charts.standalone.production.mjs";
import { api } from "./util.js";

const SECONDS = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400 };
const UP = "#0ecb81", DOWN = "#f6465d";

export class CandleChart {
  constructor(element, symbol) {
    this.element = element;
    this.symbol = symbol;
    this.interval = "1m";
    this.last = null;
    this.chart = createChart(element, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: "#161a1e" }, textColor: "#848e9c", fontSize: 11, attributionLogo: false },  // the logo injects a <style> (CSP); the page links TradingView instead
      grid: { vertLines: { color: "#1f242a" }, horzLines: { color: "#1f242a" } },
      rightPriceScale: { borderColor: "#2b3139" },
      timeScale: { borderColor: "#2b3139", timeVisible: true, secondsVisible: false, maxBarSpacing: 16 },
      crosshair: { mode: 0 },
    });
    this.candles = this.chart.addSeries(CandlestickSeries, {
      upColor: UP, downColor: DOWN, borderVisible: false, wickUpColor: UP, wickDownColor: DOWN,
    });
    this.volume = this.chart.addSeries(HistogramSeries, { priceFormat: { type: "volume" }, priceScaleId: "", lastValueVisible: false, priceLineVisible: false });
    this.volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    this.candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.25 } });
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
    // A young market has few candles: spread them over the width rather than bunch them right.
    if (candles.length && candles.length < 60) this.chart.timeScale().fitContent();
    else this.chart.timeScale().scrollToRealTime();
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
