using System.Text;
using Firezone.Connlib.Logging;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Firezone.EndToEnd.Tests.Logging;

/// <summary><see cref="FirezoneLoggerProvider"/>'s queue: ordered, flushed on dispose, lossy instead of blocking.</summary>
public sealed class LogQueueTests
{
    /// <summary>A writer whose writes block until <see cref="Release"/>; <see cref="Entered"/> is set once the first write waits.</summary>
    private sealed class BlockingWriter : TextWriter
    {
        private readonly ManualResetEventSlim _release = new();
        private readonly StringBuilder _text = new();

        public ManualResetEventSlim Entered { get; } = new();

        public override Encoding Encoding => Encoding.UTF8;

        public string Text
        {
            get
            {
                lock (_text)
                {
                    return _text.ToString();
                }
            }
        }

        public void Release() => _release.Set();

        public override void Write(char value)
        {
            Entered.Set();
            _release.Wait();
            lock (_text)
            {
                _text.Append(value);
            }
        }

        public override void Write(string? value)
        {
            Entered.Set();
            _release.Wait();
            lock (_text)
            {
                _text.Append(value);
            }
        }

        protected override void Dispose(bool disposing)
        {
            _release.Dispose();
            Entered.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>A writer that fails its first write.</summary>
    private sealed class FailingOnceWriter : StringWriter
    {
        private int _writes;

        public override void Write(string? value)
        {
            if (Interlocked.Increment(ref _writes) == 1)
            {
                throw new IOException("broken pipe");
            }

            base.Write(value);
        }
    }

    private static FirezoneLoggerOptions Options(int capacity = 128_000) =>
        new() { QueueCapacity = capacity, Time = new FakeTimeProvider(DateTimeOffset.UnixEpoch) };

    [Fact]
    public void Lines_are_written_in_order_and_all_of_them_by_dispose()
    {
        var writer = new StringWriter();
        using (var provider = new FirezoneLoggerProvider(LogFormat.Human, writer, Options()))
        {
            var logger = provider.CreateLogger("t");
            for (int i = 0; i < 5000; i++)
            {
                logger.LogInformation("line {Number}", i);
            }

            Assert.Equal(0, provider.DroppedLines);
        }

        string[] lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Enumerable.Range(0, 5000).Select(i => $"1970-01-01T00:00:00.000Z  INFO t: line {i}"), lines);
    }

    [Fact]
    public async Task A_full_queue_drops_and_counts_lines_instead_of_blocking_the_caller()
    {
        using var writer = new BlockingWriter();
        var provider = new FirezoneLoggerProvider(LogFormat.Human, writer, Options(capacity: 2));
        var logger = provider.CreateLogger("t");
        logger.LogInformation("one");
        Assert.True(writer.Entered.Wait(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken), "the writer thread never started writing");

        // The writer thread is stuck in "one": two lines fit in the queue, the next three are dropped, and no call waits.
        var logging = Task.Run(() =>
        {
            foreach (string text in new[] { "two", "three", "four", "five", "six" })
            {
                logger.LogInformation(text);
            }
        }, TestContext.Current.CancellationToken);
        Assert.Same(logging, await Task.WhenAny(logging, Task.Delay(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)));
        Assert.Equal(3, provider.DroppedLines);

        writer.Release();
        provider.Dispose();
        Assert.Equal(
            ["one", "two", "three"],
            writer.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[(l.IndexOf(": ", StringComparison.Ordinal) + 2)..]));
        Assert.Equal(3, provider.DroppedLines);
    }

    [Fact]
    public void Logging_after_dispose_is_counted_as_dropped_and_does_not_throw()
    {
        var writer = new StringWriter();
        var provider = new FirezoneLoggerProvider(LogFormat.GoogleCloud, writer, Options());
        var logger = provider.CreateLogger("t");
        provider.Dispose();
        logger.LogWarning("late");
        provider.Dispose();
        Assert.Equal(1, provider.DroppedLines);
        Assert.Equal(string.Empty, writer.ToString());
    }

    [Fact]
    public void A_failing_write_is_counted_and_the_writer_thread_goes_on()
    {
        var writer = new FailingOnceWriter();
        using (var provider = new FirezoneLoggerProvider(LogFormat.Human, writer, Options()))
        {
            var logger = provider.CreateLogger("t");
            logger.LogInformation("lost");
            logger.LogInformation("kept");
            provider.Dispose();
            Assert.Equal(1, provider.DroppedLines);
        }

        Assert.EndsWith(" INFO t: kept\n", writer.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("lost", writer.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_logging_builder_extension_adds_a_provider_that_the_factory_flushes_on_dispose()
    {
        var console = new StringWriter();
        var file = new StringWriter();
        var options = Options();
        using (var factory = LoggerFactory.Create(builder => builder
            .SetMinimumLevel(LogLevel.Debug)
            .AddFirezoneLogging(LogFormat.Human, console, options)
            .AddFirezoneLogging(LogFormat.GoogleCloud, file, options)))
        {
            var logger = factory.CreateLogger("Firezone.Relay");
            logger.LogDebug("Listening on {Port}", 3478);
            logger.LogTrace("filtered by the factory");
        }

        Assert.Equal("1970-01-01T00:00:00.000Z DEBUG Firezone.Relay: Listening on 3478\n", console.ToString());
        Assert.Equal("""{"time":"1970-01-01T00:00:00Z","target":"Firezone.Relay","severity":"DEBUG","port":3478,"message":"Listening on 3478"}""" + "\n", file.ToString());
    }

    [Fact]
    public void An_unknown_format_or_a_zero_capacity_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new FirezoneLoggerProvider((LogFormat)42, new StringWriter()));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FirezoneLoggerProvider(LogFormat.Human, new StringWriter(), Options(capacity: 0)));
    }
}
