using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Logging;

/// <summary>Registers a <see cref="FirezoneLoggerProvider"/> with a logging builder.</summary>
public static class FirezoneLoggingBuilderExtensions
{
    /// <summary>
    /// Adds a <see cref="FirezoneLoggerProvider"/> writing <paramref name="format"/> lines to <paramref name="writer"/>
    /// (standard output when null). Each call adds one more provider (e.g. a console and a file); the logger factory
    /// disposes them, which flushes what they queued.
    /// </summary>
    public static ILoggingBuilder AddFirezoneLogging(this ILoggingBuilder builder, LogFormat format, TextWriter? writer = null, FirezoneLoggerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Add(ServiceDescriptor.Singleton<ILoggerProvider, FirezoneLoggerProvider>(_ => new FirezoneLoggerProvider(format, writer, options)));
        return builder;
    }
}
