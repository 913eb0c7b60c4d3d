import { Module } from '@nestjs/common';
import { EventsModule } from '@app/events';
import { CsvBodyParser } from './csv-upload';
import { PostsBulkController } from './posts-bulk.controller';
import { exportPoolProvider } from './posts-export.pool';
import { PostsExportService } from './posts-export.service';
import { ImportPostsHandler } from './posts-import.handler';
import { PostsImportService } from './posts-import.service';
import { PostsImportsController } from './posts-imports.controller';
import { PostsController } from './posts.controller';
import { PostsRepository } from './posts.repository';
import { PostsService } from './posts.service';

@Module({
  imports: [EventsModule],
  controllers: [PostsController, PostsBulkController, PostsImportsController],
  providers: [
    exportPoolProvider,
    PostsRepository,
    PostsService,
    PostsImportService,
    ImportPostsHandler,
    PostsExportService,
    CsvBodyParser,
  ],
  exports: [PostsRepository],
})
export class PostsModule {}
