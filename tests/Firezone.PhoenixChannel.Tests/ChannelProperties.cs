using System.Text;
using System.Text.Json;
using Firezone.PhoenixChannel.Backoff;
using Firezone.PhoenixChannel.Protocol;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Firezone.PhoenixChannel.Tests;

public class ChannelProperties
{
    /// <summary>One step of a generated history: after a pause, the current attempt (or socket) succeeds or fails.</summary>
    public sealed record Step(bool Success, int PauseSeconds);

    private static Arbitrary<Step[]> Histories() =>
        Gen.Zip(Gen.Frequency((2, Gen.Constant(true)), (5, Gen.Constant(false))), Gen.Choose(0, 400))
            .Select(t => new Step(t.Item1, t.Item2))
            .ArrayOf()
            .Select(a => a.Take(60).ToArray())
            .ToArbitrary();

    /// <summary>
    /// For any history of outcomes and pauses, the channel gives up if and only if the current failure streak, counted
    /// from its first error, has outlasted the max elapsed time (now − first error &gt; M, or now − first error + delay &gt; M),
    /// checked against a reference model with exact delays (randomisation 0).
    /// </summary>
    [Property(MaxTest = 200)]
    public Property Gives_up_iff_the_failure_streak_outlasts_max_elapsed_time_since_its_first_error() =>
        Prop.ForAll(Histories(), Gen.Choose(1, 30).ToArbitrary(), (steps, maxMinutes) =>
        {
            var policy = new ReconnectPolicy { RandomizationFactor = 0, MaxElapsedTime = TimeSpan.FromMinutes(maxMinutes) };
            var h = new CoreHarness(policy);
            h.Connect();

            // Reference model of one failure streak.
            TimeSpan? streakStart = null;
            var nominal = policy.InitialInterval;
            var modelGaveUp = false;

            foreach (var step in steps)
            {
                if (modelGaveUp) break;
                // Wait until an attempt is in flight (sleeping in backoff first when needed), then pause.
                if (h.InFlightAttempt is null && h.Core.State == ChannelState.Connecting) h.AdvanceTo(h.Core.PollTimeout()!.Value);
                h.AutoAckHeartbeats = true;
                h.Advance(TimeSpan.FromSeconds(step.PauseSeconds));
                if (h.InFlightAttempt is null && h.Core.State == ChannelState.Connecting) h.AdvanceTo(h.Core.PollTimeout()!.Value);

                var connected = h.Core.State == ChannelState.Connected;
                if (step.Success)
                {
                    if (!connected) h.Succeed();
                    streakStart = null;
                    nominal = policy.InitialInterval;
                    continue;
                }

                // A failure now: of the attempt in flight, or of the open socket.
                streakStart ??= h.Now;
                var elapsed = h.Now - streakStart.Value;
                var delay = nominal;
                nominal = nominal.Ticks >= policy.MaxInterval.Ticks / policy.Multiplier
                    ? policy.MaxInterval : TimeSpan.FromTicks((long)(nominal.Ticks * policy.Multiplier));
                modelGaveUp = elapsed > policy.MaxElapsedTime || elapsed + delay > policy.MaxElapsedTime;

                var before = h.Reconnects.Count();
                if (connected) h.Drop(); else h.Fail();
                var realGaveUp = h.Failure is not null;
                if (realGaveUp != modelGaveUp) return false;
                if (!realGaveUp && h.Reconnects.Last().RetryIn != delay) return false;
                if (!realGaveUp && h.Reconnects.Count() != before + 1) return false;
            }
            return true;
        });

    /// <summary>Every drawn delay lies within the randomisation bounds of its nominal interval, which never exceeds the max.</summary>
    [Property(MaxTest = 100)]
    public Property Backoff_intervals_stay_within_their_bounds() =>
        Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), Gen.Choose(1, 200).ToArbitrary(), (seed, count) =>
        {
            var policy = ReconnectPolicy.Gateway;
            var backoff = new ExponentialBackoff(policy, TimeSpan.Zero, new Random(seed));
            var now = TimeSpan.Zero;
            for (var i = 0; i < count; i++)
            {
                var cur = backoff.CurrentInterval;
                if (cur > policy.MaxInterval) return false;
                var d = backoff.NextDelay(now);
                if (d is not { } delay) return false;
                var low = TimeSpan.FromTicks((long)(cur.Ticks * (1 - policy.RandomizationFactor)));
                var high = TimeSpan.FromTicks((long)(cur.Ticks * (1 + policy.RandomizationFactor)));
                if (delay < low || delay > high) return false;
                now += delay;
            }
            return true;
        });

    private static readonly Gen<string> Names = Gen.Elements("client", "gateway", "relay", "phoenix", "phx_reply", "init", "ice_candidates", "x y", "ü\"\\/\n");

    private static Gen<string> JsonValues(int depth) => depth <= 0
        ? Gen.OneOf(
            Gen.Constant("null"), Gen.Constant("true"), Gen.Constant("{}"), Gen.Constant("[]"),
            Gen.Choose(int.MinValue, int.MaxValue).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            Names.Select(s => JsonSerializer.Serialize(s)))
        : Gen.OneOf(
            JsonValues(0),
            Gen.Zip(Names, JsonValues(depth - 1)).ListOf().Select(kv =>
                "{" + string.Join(",", kv.DistinctBy(p => p.Item1).Select(p => JsonSerializer.Serialize(p.Item1) + ":" + p.Item2)) + "}"),
            JsonValues(depth - 1).ListOf().Select(items => "[" + string.Join(",", items) + "]"));

    /// <summary>Every frame we can send decodes to the same topic, event, payload and ref.</summary>
    [Property(MaxTest = 300)]
    public Property Every_frame_round_trips() =>
        Prop.ForAll(Gen.Zip(Names, Names).ToArbitrary(), JsonValues(3).ToArbitrary(),
            Gen.Choose(0, int.MaxValue).Select(i => (ulong)i * 7919).ToArbitrary(), (names, payload, @ref) =>
            {
                var (topic, @event) = names;
                var text = PhoenixFrameCodec.Encode(topic, @event, Encoding.UTF8.GetBytes(payload), @ref);
                var error = PhoenixFrameCodec.TryDecode(Encoding.UTF8.GetBytes(text), out var frame);
                return error == FrameDecodeError.None && frame.Topic == topic && frame.Event == @event && frame.Ref == @ref
                    && JsonElement.DeepEquals(frame.Payload, JsonDocument.Parse(payload).RootElement);
            });

    /// <summary>Whatever text arrives, nothing throws out of the channel, and it stays in a valid state.</summary>
    [Property(MaxTest = 500)]
    public Property Arbitrary_text_frames_never_throw() =>
        Prop.ForAll(Gen.OneOf(
                ArbMap.Default.GeneratorFor<string>().Select(s => s ?? ""),
                ArbMap.Default.GeneratorFor<byte[]>().Select(b => Encoding.UTF8.GetString(b)),
                JsonValues(3),
                Gen.Zip(Gen.Zip(Names, Names), JsonValues(2)).Select(t =>
                    "{\"topic\":" + JsonSerializer.Serialize(t.Item1.Item1) + ",\"event\":" + JsonSerializer.Serialize(t.Item1.Item2)
                    + ",\"payload\":" + t.Item2 + ",\"ref\":null}"),
                JsonValues(2).Select(p => "{\"topic\":\"client\",\"event\":\"phx_reply\",\"payload\":" + p + ",\"ref\":0}"))
            .ArrayOf().ToArbitrary(), frames =>
        {
            var h = new CoreHarness(ReconnectPolicy.Gateway, "client");
            h.Connect();
            h.Succeed();
            foreach (var text in frames)
            {
                if (h.Core.State == ChannelState.Connecting) h.AdvanceTo(h.Core.PollTimeout() ?? h.Now);
                if (h.InFlightAttempt is not null) h.Succeed();
                h.Receive(text);
            }
            return Enum.IsDefined(h.Core.State);
        });

    /// <summary>The decoder never throws on arbitrary bytes, including invalid UTF-8.</summary>
    [Property(MaxTest = 500)]
    public bool Decoder_never_throws_on_arbitrary_bytes(byte[] bytes)
    {
        var error = PhoenixFrameCodec.TryDecode(bytes ?? [], out _);
        return Enum.IsDefined(error);
    }
}
