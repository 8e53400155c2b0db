using System.Net;
using System.Text.Json;
using Firezone.Connlib.Logging;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Firezone.EndToEnd.Tests.Logging;

/// <summary>
/// The three line shapes of <see cref="FirezoneLoggerProvider"/>, exactly: google-cloud (hosts-and-tun.md §5.3),
/// tracing-subscriber's JSON, human (§5.2). Events come from real [LoggerMessage] methods or from hand-made states.
/// </summary>
public sealed partial class LogFormatTests
{
    // 2024-11-29T20:19:11.123456Z (the §5.3 example's time).
    private static readonly DateTimeOffset Time = new DateTimeOffset(2024, 11, 29, 20, 19, 11, TimeSpan.Zero).AddTicks(1_234_560);

    [LoggerMessage(Level = LogLevel.Information, Message = "Allocated {Port} for {ClientAddress} (new: {IsNew}, load {Load})")]
    private static partial void LogAllocated(ILogger logger, int port, IPEndPoint clientAddress, bool isNew, double load);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Nothing structured")]
    private static partial void LogPlain(ILogger logger);

    private static string Lines(LogFormat format, Action<ILogger> log, DateTimeOffset? time = null)
    {
        var writer = new StringWriter();
        using (var provider = new FirezoneLoggerProvider(format, writer, new FirezoneLoggerOptions { Time = new FakeTimeProvider(time ?? Time) }))
        {
            log(provider.CreateLogger("Firezone.Test"));
        }

        return writer.ToString();
    }

    private static string Line(LogFormat format, Action<ILogger> log, DateTimeOffset? time = null)
    {
        string text = Lines(format, log, time);
        Assert.EndsWith("\n", text);
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        return text[..^1];
    }

    /// <summary>Logs a hand-made state: fields in the given order, no template unless one is given.</summary>
    private static Action<ILogger> State(LogLevel level, string message, params (string Key, object? Value)[] fields) =>
        logger => logger.Log(level, default, fields.Select(f => new KeyValuePair<string, object?>(f.Key, f.Value)).ToList(), null, (_, _) => message);

    private static void Allocated(ILogger logger) => LogAllocated(logger, 49152, IPEndPoint.Parse("203.0.113.7:50000"), true, 0.5);

    [Fact]
    public void Google_cloud_line_is_time_target_severity_then_fields_sorted_by_original_name_in_camel_case_with_the_message()
    {
        // Ordinal sort of the original names: "ClientAddress" < "IsNew" < "Load" < "Port" < "message".
        Assert.Equal(
            """{"time":"2024-11-29T20:19:11.123456Z","target":"Firezone.Test","severity":"INFO","clientAddress":"203.0.113.7:50000","isNew":true,"load":"0.5","port":49152,"message":"Allocated 49152 for 203.0.113.7:50000 (new: True, load 0.5)"}""",
            Line(LogFormat.GoogleCloud, Allocated));
    }

    [Fact]
    public void Json_line_is_tracing_subscribers_shape_message_first_then_fields_in_state_order_with_float_numbers()
    {
        Assert.Equal(
            """{"timestamp":"2024-11-29T20:19:11.123456Z","level":"INFO","fields":{"message":"Allocated 49152 for 203.0.113.7:50000 (new: True, load 0.5)","Port":49152,"ClientAddress":"203.0.113.7:50000","IsNew":true,"Load":0.5},"target":"Firezone.Test"}""",
            Line(LogFormat.Json, Allocated));
    }

    [Fact]
    public void Human_line_has_three_fractional_digits_a_right_aligned_level_and_no_repeat_of_template_fields()
    {
        Assert.Equal(
            "2024-11-29T20:19:11.123Z  INFO Firezone.Test: Allocated 49152 for 203.0.113.7:50000 (new: True, load 0.5)",
            Line(LogFormat.Human, Allocated));
        Assert.Equal("2024-11-29T20:19:11.123Z  WARN Firezone.Test: Nothing structured", Line(LogFormat.Human, LogPlain));
    }

    [Fact]
    public void Human_line_appends_fields_the_template_does_not_name_as_key_value_with_quoted_strings()
    {
        var log = State(LogLevel.Information, "Tunnel ready", ("{OriginalFormat}", "Tunnel ready"), ("arch", "x86_64"), ("count", 3), ("up", false), ("quote", "a \"b\"\n"), ("peer", IPEndPoint.Parse("192.0.2.1:3478")));
        Assert.Equal(
            """2024-11-29T20:19:11.123Z  INFO Firezone.Test: Tunnel ready arch="x86_64" count=3 up=false quote="a \"b\"\n" peer=192.0.2.1:3478""",
            Line(LogFormat.Human, log));
    }

    [Fact]
    public void Lower_case_names_sort_around_message_and_keys_are_camel_cased_in_google_cloud_only()
    {
        var log = State(LogLevel.Debug, "Tunnel ready", ("peer", "p"), ("iface_idx", 4), ("elapsed", "1.52s"), ("a.b", "x"), ("message", "shadowed"));
        Assert.Equal(
            """{"time":"2024-11-29T20:19:11.123456Z","target":"Firezone.Test","severity":"DEBUG","aB":"x","elapsed":"1.52s","ifaceIdx":4,"message":"Tunnel ready","peer":"p"}""",
            Line(LogFormat.GoogleCloud, log));
        Assert.Equal(
            """{"timestamp":"2024-11-29T20:19:11.123456Z","level":"DEBUG","fields":{"message":"Tunnel ready","peer":"p","iface_idx":4,"elapsed":"1.52s","a.b":"x"},"target":"Firezone.Test"}""",
            Line(LogFormat.Json, log));
    }

    private enum Colour
    {
        Red,
    }

    [Fact]
    public void Integers_and_booleans_stay_json_numbers_and_booleans_everything_else_is_a_string()
    {
        var log = State(
            LogLevel.Information,
            "m",
            ("a", (sbyte)-1), ("b", (byte)255), ("c", (short)-300), ("d", (ushort)60000), ("e", -2_000_000_000), ("f", 4_000_000_000u),
            ("g", long.MinValue), ("h", ulong.MaxValue), ("i", false), ("j", "text"), ("k", 1.25), ("l", 2.5f), ("m", Colour.Red),
            ("n", TimeSpan.FromSeconds(1.5)), ("o", new[] { 1, 2 }), ("p", null), ("q", double.NaN), ("r", 'c'));
        Assert.Equal(
            """{"time":"2024-11-29T20:19:11.123456Z","target":"Firezone.Test","severity":"INFO","a":-1,"b":255,"c":-300,"d":60000,"e":-2000000000,"f":4000000000,"g":-9223372036854775808,"h":18446744073709551615,"i":false,"j":"text","k":"1.25","l":"2.5","m":"Red","message":"m","n":"00:00:01.5000000","o":"1, 2","p":null,"q":"NaN","r":"c"}""",
            Line(LogFormat.GoogleCloud, log));
        string json = Line(LogFormat.Json, log);
        Assert.Contains("\"k\":1.25,\"l\":2.5,", json, StringComparison.Ordinal);
        Assert.Contains("\"q\":null,", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(LogLevel.Trace, "DEBUG", "TRACE", "TRACE")]
    [InlineData(LogLevel.Debug, "DEBUG", "DEBUG", "DEBUG")]
    [InlineData(LogLevel.Information, "INFO", "INFO", " INFO")]
    [InlineData(LogLevel.Warning, "WARNING", "WARN", " WARN")]
    [InlineData(LogLevel.Error, "ERROR", "ERROR", "ERROR")]
    [InlineData(LogLevel.Critical, "ERROR", "ERROR", "ERROR")]
    public void Levels_map_to_each_formats_names(LogLevel level, string severity, string jsonLevel, string human)
    {
        var log = State(level, "m");
        Assert.Contains($"\"severity\":\"{severity}\",", Line(LogFormat.GoogleCloud, log), StringComparison.Ordinal);
        Assert.Contains($"\"level\":\"{jsonLevel}\",", Line(LogFormat.Json, log), StringComparison.Ordinal);
        Assert.Equal($"2024-11-29T20:19:11.123Z {human} Firezone.Test: m", Line(LogFormat.Human, log));
    }

    [Fact]
    public void None_is_not_logged()
    {
        Assert.Equal(string.Empty, Lines(LogFormat.GoogleCloud, State(LogLevel.None, "m")));
    }

    [Theory]
    [InlineData(0, "2024-11-29T20:19:11Z", "2024-11-29T20:19:11.000Z", "2024-11-29T20:19:11.000000Z")]
    [InlineData(1_000_000, "2024-11-29T20:19:11.1Z", "2024-11-29T20:19:11.100Z", "2024-11-29T20:19:11.100000Z")]
    [InlineData(1_200_000, "2024-11-29T20:19:11.12Z", "2024-11-29T20:19:11.120Z", "2024-11-29T20:19:11.120000Z")]
    [InlineData(5_000_000, "2024-11-29T20:19:11.5Z", "2024-11-29T20:19:11.500Z", "2024-11-29T20:19:11.500000Z")]
    [InlineData(1_234_567, "2024-11-29T20:19:11.1234567Z", "2024-11-29T20:19:11.123Z", "2024-11-29T20:19:11.123456Z")]
    [InlineData(1, "2024-11-29T20:19:11.0000001Z", "2024-11-29T20:19:11.000Z", "2024-11-29T20:19:11.000000Z")]
    public void Times_are_utc_google_cloud_trims_trailing_zeros_human_has_3_digits_json_6(long ticks, string googleCloud, string human, string json)
    {
        var time = new DateTimeOffset(2024, 11, 29, 21, 19, 11, TimeSpan.FromHours(1)).AddTicks(ticks); // not UTC on purpose
        var log = State(LogLevel.Information, "m");
        Assert.StartsWith($"{{\"time\":\"{googleCloud}\",", Line(LogFormat.GoogleCloud, log, time), StringComparison.Ordinal);
        Assert.StartsWith($"{human}  INFO ", Line(LogFormat.Human, log, time), StringComparison.Ordinal);
        Assert.StartsWith($"{{\"timestamp\":\"{json}\",", Line(LogFormat.Json, log, time), StringComparison.Ordinal);
    }

    [Fact]
    public void Google_cloud_keys_come_in_the_documented_order()
    {
        using var document = JsonDocument.Parse(Line(LogFormat.GoogleCloud, Allocated));
        Assert.Equal(
            ["time", "target", "severity", "clientAddress", "isNew", "load", "port", "message"],
            document.RootElement.EnumerateObject().Select(p => p.Name).ToArray());
        using var json = JsonDocument.Parse(Line(LogFormat.Json, Allocated));
        Assert.Equal(["timestamp", "level", "fields", "target"], json.RootElement.EnumerateObject().Select(p => p.Name).ToArray());
    }

    [Fact]
    public void A_severity_field_overrides_the_level_as_tracing_stackdriver_reads_it()
    {
        Assert.Equal(
            """{"time":"2024-11-29T20:19:11.123456Z","target":"Firezone.Test","severity":"WARNING","message":"m"}""",
            Line(LogFormat.GoogleCloud, State(LogLevel.Information, "m", ("severity", "Warn"))));
        Assert.Contains("\"severity\":\"NOTICE\",", Line(LogFormat.GoogleCloud, State(LogLevel.Error, "m", ("severity", "notice"))), StringComparison.Ordinal);
        Assert.Contains("\"severity\":\"DEFAULT\",", Line(LogFormat.GoogleCloud, State(LogLevel.Error, "m", ("severity", "loud"))), StringComparison.Ordinal);
        Assert.Contains("\"severity\":\"DEFAULT\",", Line(LogFormat.GoogleCloud, State(LogLevel.Error, "m", ("severity", 3))), StringComparison.Ordinal);
    }

    [Fact]
    public void Insert_id_labels_and_http_request_fields_get_googles_special_keys()
    {
        var log = State(LogLevel.Information, "m", ("labels.relay_name", "r1"), ("insert_id", 7), ("http_request.request_method", "GET"), ("labels.count", 2), ("zone", "z"), ("http_request.status", 200));
        Assert.Equal(
            """{"time":"2024-11-29T20:19:11.123456Z","target":"Firezone.Test","severity":"INFO","logging.googleapis.com/insertId":"7","message":"m","zone":"z","httpRequest":{"requestMethod":"GET","status":200},"logging.googleapis.com/labels":{"count":"2","relayName":"r1"}}""",
            Line(LogFormat.GoogleCloud, log));
    }

    [Fact]
    public void An_exception_adds_its_text_as_the_exception_field()
    {
        Exception exception;
        try
        {
            throw new InvalidOperationException("boom\nsecond line");
        }
        catch (InvalidOperationException e)
        {
            exception = e;
        }

        void Log(ILogger logger) => logger.LogError(exception, "Failed {Step}", "bind");
        using var document = JsonDocument.Parse(Line(LogFormat.GoogleCloud, Log));
        Assert.Equal(["time", "target", "severity", "step", "exception", "message"], document.RootElement.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal(exception.ToString(), document.RootElement.GetProperty("exception").GetString());
        Assert.Equal("Failed bind", document.RootElement.GetProperty("message").GetString());

        using var json = JsonDocument.Parse(Line(LogFormat.Json, Log));
        Assert.Equal(["message", "Step", "exception"], json.RootElement.GetProperty("fields").EnumerateObject().Select(p => p.Name).ToArray());

        string human = Line(LogFormat.Human, Log);
        Assert.StartsWith("2024-11-29T20:19:11.123Z ERROR Firezone.Test: Failed bind exception=\"System.InvalidOperationException: boom\\nsecond line", human, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", human, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_escapes_only_what_json_requires()
    {
        string line = Line(LogFormat.GoogleCloud, State(LogLevel.Information, "<a> & é \"q\" \\ \u0001"));
        Assert.EndsWith("\"message\":\"<a> & é \\\"q\\\" \\\\ \\u0001\"}", line, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(line);
        Assert.Equal("<a> & é \"q\" \\ \u0001", document.RootElement.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("iface_idx", "ifaceIdx")]
    [InlineData("a.b", "aB")]
    [InlineData("message", "message")]
    [InlineData("EndPoint", "endPoint")]
    [InlineData("IPAddress", "ipAddress")]
    [InlineData("Ipv4Addr", "ipv4Addr")]
    [InlineData("HTTP_REQUEST", "httpRequest")]
    [InlineData("_leading", "leading")]
    [InlineData("ExitCode", "exitCode")]
    [InlineData("!!", "!!")]
    public void Camel_case_follows_inflector(string name, string expected) => Assert.Equal(expected, GoogleCloudLogFormatter.CamelCase(name));
}
