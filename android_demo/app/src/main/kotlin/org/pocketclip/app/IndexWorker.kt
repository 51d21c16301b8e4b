// Background indexing with WorkManager: new, changed and deleted photos (MediaStore) into the store,
// one transaction per batch, so a stopped or killed run resumes where it was with nothing duplicated.
package org.pocketclip.app

import android.content.Context
import android.provider.MediaStore
import android.util.Log
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import androidx.work.workDataOf
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import org.pocketclip.core.Binding
import org.pocketclip.core.IndexOptions
import org.pocketclip.core.LibraryIndexer
import org.pocketclip.core.ModelMismatch
import org.pocketclip.core.PhotoEmbedder
import org.pocketclip.core.RootUnavailable
import org.pocketclip.core.bindStore
import java.util.concurrent.TimeUnit

class IndexWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {

    override suspend fun doWork(): Result = withContext(Dispatchers.Default) {
        val context = applicationContext
        // Without photo access MediaStore lists nothing; the core's guards (R12-R14) keep a partial or empty
        // listing from marking photos deleted, so the app only has to say which access it has.
        if (!PhotoLibrary.hasAccess(context)) return@withContext Result.failure()
        val manifest = BundleFiles.load(context)
        val store = StoreFiles.open(context)
        val library = PhotoLibrary(context, manifest.preprocess)
        Towers.open(manifest, "image").use { tower ->
            // Everything that ties the store to this bundle is the core's (binding, meta, codes, error retries).
            val binding = Binding.of(manifest, library.root, manifest.root.path, tower.artifact.format,
                tower.artifact.precision)
            val retry = try {
                bindStore(store, binding)
            } catch (e: ModelMismatch) { // the app was updated with another model: re-index, never mix two models
                Log.i(TAG, "re-indexing: ${e.message}")
                bindStore(store, binding, reindex = true)
            }
            val embedder = PhotoEmbedder { _, decoded ->
                if (isStopped) throw CancellationException("indexing stopped") // the batch in hand is not written
                tower.embedPixels(decoded.map { it.pixels })
            }
            val report = try {
                LibraryIndexer(store, manifest.fingerprint, binding.pq).run(library, embedder,
                    IndexOptions(batchSize = BATCH, retryErrors = retry),
                    progress = { done, total -> setProgressAsync(workDataOf(PROGRESS_DONE to done, PROGRESS_TOTAL to total)) },
                    log = { Log.i(TAG, it) })
            } catch (e: RootUnavailable) { // MediaStore listed nothing while the store holds photos: changed nothing
                Log.w(TAG, e.message ?: "the photo library is unavailable")
                return@use Result.retry()
            }
            Log.i(TAG, "indexed: $report")
            Result.success(workDataOf("embedded" to report.embedded, "unchanged" to report.unchanged,
                "moved" to report.moved, "deleted" to report.deleted, "errors" to report.errors,
                "withheld" to report.withheld))
        }.also { scheduleOnChange(context, rearmAfterItself = ON_CHANGE in tags) }
    }

    companion object {
        private const val TAG = "pocketclip"
        private const val BATCH = 16
        const val PROGRESS_DONE = "done"
        const val PROGRESS_TOTAL = "total"
        const val NOW = "pocketclip-index"
        private const val ON_CHANGE = "pocketclip-index-on-change"
        private const val DAILY = "pocketclip-index-daily"

        /** Index now, then whenever MediaStore's images change, and once a day as a safety net. */
        fun schedule(context: Context) {
            val work = WorkManager.getInstance(context)
            work.enqueueUniqueWork(NOW, ExistingWorkPolicy.KEEP, OneTimeWorkRequestBuilder<IndexWorker>().build())
            work.enqueueUniquePeriodicWork(DAILY, ExistingPeriodicWorkPolicy.KEEP,
                PeriodicWorkRequestBuilder<IndexWorker>(1, TimeUnit.DAYS)
                    .setConstraints(Constraints.Builder().setRequiresBatteryNotLow(true).build()).build())
            scheduleOnChange(context, rearmAfterItself = false)
        }

        /**
         * A content-URI trigger fires once, so every run re-arms it. The triggered run itself is still running
         * then, and appends its successor; any other caller keeps a pending trigger, so the chain never grows.
         */
        private fun scheduleOnChange(context: Context, rearmAfterItself: Boolean) {
            val constraints = Constraints.Builder()
                .addContentUriTrigger(MediaStore.Images.Media.getContentUri(MediaStore.VOLUME_EXTERNAL), true)
                .setTriggerContentUpdateDelay(10, TimeUnit.SECONDS)
                .setRequiresBatteryNotLow(true)
                .build()
            val policy = if (rearmAfterItself) ExistingWorkPolicy.APPEND_OR_REPLACE else ExistingWorkPolicy.KEEP
            WorkManager.getInstance(context).enqueueUniqueWork(ON_CHANGE, policy,
                OneTimeWorkRequestBuilder<IndexWorker>().setConstraints(constraints).addTag(ON_CHANGE).build())
        }
    }
}
