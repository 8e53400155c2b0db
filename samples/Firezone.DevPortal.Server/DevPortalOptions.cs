using System.Net;
using Firezone.DevPortal.Config;
using Microsoft.Extensions.Logging;

namespace Firezone.DevPortal;

/// <summary>How a <see cref="DevPortalHost"/> runs.</summary>
public sealed class DevPortalOptions
{
    /// <summary>The config to start with (default: <see cref="DevPortalConfig.Default"/>).</summary>
    public DevPortalConfig Config { get; init; } = DevPortalConfig.Default;

    /// <summary>A config file to watch: when it changes (debounced), it is read again and the differences pushed. Null: no watching.</summary>
    public string? ConfigPath { get; init; }

    /// <summary>How long the file must stay unchanged before it is read again.</summary>
    public TimeSpan ReloadDebounce { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>The address to listen on (loopback by default).</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>The port; 0 picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>Clock for timeouts and credential expiry.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Randomness for salts and refs (default: the system's CSPRNG).</summary>
    public Action<Span<byte>>? Random { get; init; }

    /// <summary>Whether <see cref="DevPortalHost.Server"/> keeps every frame for its <c>Received</c> reader (tests); off by default, as nothing would drain it.</summary>
    public bool RecordFrames { get; init; }

    /// <summary>Logs; nothing is logged when null.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }
}
